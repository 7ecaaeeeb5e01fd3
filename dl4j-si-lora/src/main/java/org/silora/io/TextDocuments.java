package org.silora.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.silora.hf.ModelFormatException;
import org.silora.hf.tokenizer.HfTokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * Training text: JSON lines with a {@code "text"} field ({@code .jsonl}), or plain text where blank lines separate
 * documents; and its cut into token windows for causal-LM training.
 *
 * <pre>{@code
 * List<String> docs = TextDocuments.read(Path.of("brown-train.jsonl"));
 * List<int[]> rows = TextDocuments.windows(docs, tokenizer, 128);   // rows of 129 tokens: 128 predictions each
 * }</pre>
 */
public final class TextDocuments {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TextDocuments() {
    }

    /** The documents of a {@code .jsonl} (field {@code text}) or plain-text file. */
    public static List<String> read(Path file) {
        List<String> docs = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            boolean jsonl = file.getFileName().toString().endsWith(".jsonl") || file.getFileName().toString().endsWith(".json");
            StringBuilder cur = new StringBuilder();
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (jsonl) {
                    if (line.isBlank()) continue;
                    JsonNode node;
                    try {
                        node = JSON.readTree(line);
                    } catch (JsonProcessingException e) {
                        throw ModelFormatException.of(file, "line " + n + ": not valid JSON: " + e.getOriginalMessage().replace('\n', ' '));
                    }
                    JsonNode text = node == null ? null : node.get("text");
                    if (text == null || !text.isTextual()) throw ModelFormatException.of(file, "line " + n + ": no string field 'text'");
                    if (!text.asText().isBlank()) docs.add(text.asText());
                } else if (line.isBlank()) {
                    if (cur.length() > 0) docs.add(cur.toString());
                    cur.setLength(0);
                } else {
                    if (cur.length() > 0) cur.append('\n');
                    cur.append(line);
                }
            }
            if (cur.length() > 0) docs.add(cur.toString());
        } catch (NoSuchFileException e) {
            throw ModelFormatException.of(file, "no such file");
        } catch (java.nio.charset.MalformedInputException e) {
            throw ModelFormatException.of(file, "not UTF-8 text");
        } catch (IOException e) {
            throw ModelFormatException.of(file, "cannot read: " + e.getMessage());
        }
        if (docs.isEmpty()) throw ModelFormatException.of(file, "holds no text");
        return docs;
    }

    /**
     * Tokenizes every document (with the tokenizer's BOS rule, and EOS after each when it has one), joins them
     * and cuts rows of {@code seqLen + 1} tokens; a last shorter row of at least 2 tokens is kept.
     */
    public static List<int[]> windows(List<String> docs, HfTokenizer tokenizer, int seqLen) {
        if (seqLen < 1) throw new IllegalArgumentException("sequence length must be >= 1");
        OptionalInt eos = tokenizer.eosId();
        int[] all = new int[1024];
        int n = 0;
        for (String d : docs) {
            int[] ids = tokenizer.encode(d);
            int extra = eos.isPresent() ? 1 : 0;
            if (n + ids.length + extra > all.length) all = Arrays.copyOf(all, Math.max(all.length * 2, n + ids.length + extra));
            System.arraycopy(ids, 0, all, n, ids.length);
            n += ids.length;
            if (eos.isPresent()) all[n++] = eos.getAsInt();
        }
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i + 1 < n; i += seqLen) {
            rows.add(Arrays.copyOfRange(all, i, Math.min(n, i + seqLen + 1)));
        }
        return rows;
    }
}
