package org.silora.eval;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PushbackReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the records of a JSON file that is either one JSON array of objects (SciQ's original release) or JSON
 * lines (one object per line), remembering the line each record starts on, so every error names file and line.
 * A record that is not valid JSON is a {@link ModelFormatException} {@code "<file>: line N: ..."}, or, with
 * {@code skipMalformed}, counted in {@link Records#skipped()}.
 */
final class JsonRecords {

    static final ObjectMapper JSON = new ObjectMapper();

    /** One record and the (1-based) line it starts on. */
    record Rec(int line, JsonNode node) {
    }

    /** The records read, and how many lines were skipped as malformed. */
    record Records(List<Rec> records, int skipped) {
    }

    private JsonRecords() {
    }

    static Records read(Path file, boolean skipMalformed) {
        List<Rec> out = new ArrayList<>();
        int skipped = 0;
        try (Reader raw = reader(file); PushbackReader r = new PushbackReader(raw, 1)) {
            int c;
            do {
                c = r.read();
            } while (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\uFEFF');
            if (c == -1) throw ModelFormatException.of(file, "is empty");
            r.unread(c);
            if (c == '[') {
                try (JsonParser p = JSON.getFactory().createParser(r)) {
                    p.nextToken();
                    JsonToken t;
                    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                        if (t == null) throw ModelFormatException.of(file, "line " + p.currentLocation().getLineNr() + ": the JSON array is not closed");
                        int line = p.currentTokenLocation().getLineNr();
                        JsonNode n = p.readValueAsTree();
                        out.add(new Rec(line, n));
                    }
                } catch (JsonProcessingException e) {
                    // inside one array a bad record cannot be skipped reliably: always an error
                    throw ModelFormatException.of(file, "line " + e.getLocation().getLineNr() + ": not valid JSON: "
                            + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED));
                }
            } else {
                BufferedReader br = new BufferedReader(r);
                String line;
                int n = 0;
                while ((line = br.readLine()) != null) {
                    n++;
                    if (line.isBlank()) continue;
                    try {
                        out.add(new Rec(n, JSON.readTree(line)));
                    } catch (JsonProcessingException e) {
                        if (skipMalformed) {
                            skipped++;
                            continue;
                        }
                        throw ModelFormatException.of(file, "line " + n + ": not valid JSON: " + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED));
                    }
                }
            }
        } catch (NoSuchFileException e) {
            throw ModelFormatException.of(file, "no such file");
        } catch (CharacterCodingException e) {
            throw ModelFormatException.of(file, "not UTF-8 text");
        } catch (IOException e) {
            throw ModelFormatException.of(file, "cannot read: " + Messages.oneLine(e));
        }
        if (out.isEmpty() && skipped == 0) throw ModelFormatException.of(file, "holds no records");
        return new Records(out, skipped);
    }

    static Reader reader(Path file) throws IOException {
        var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        return new java.io.InputStreamReader(Files.newInputStream(file), dec);
    }

    /** The string field {@code name} of a record, or an error naming file and line. */
    static String text(Path file, Rec r, String name) {
        if (r.node() == null || !r.node().isObject()) throw new Malformed(file, r.line(), "not a JSON object");
        JsonNode v = r.node().get(name);
        if (v == null || v.isNull()) throw new Malformed(file, r.line(), "no field '" + name + "'");
        if (!v.isTextual()) throw new Malformed(file, r.line(), "field '" + name + "' is not a string");
        return v.asText();
    }

    /** An integer field (a JSON integer or a string of one), or an error naming file and line. */
    static int integer(Path file, Rec r, String name) {
        if (r.node() == null || !r.node().isObject()) throw new Malformed(file, r.line(), "not a JSON object");
        JsonNode v = r.node().get(name);
        if (v == null || v.isNull()) throw new Malformed(file, r.line(), "no field '" + name + "'");
        if (v.isIntegralNumber() && v.canConvertToInt()) return v.asInt();
        if (v.isTextual()) {
            try {
                return Integer.parseInt(v.asText().trim());
            } catch (NumberFormatException ignored) {
                // fall through
            }
        }
        throw new Malformed(file, r.line(), "field '" + name + "' is not an integer: " + v);
    }

    /** A well-formed JSON record that lacks what the task needs; skippable on request. */
    static final class Malformed extends ModelFormatException {
        Malformed(Path file, int line, String problem) {
            super(file + ": line " + line + ": " + problem);
        }
    }
}
