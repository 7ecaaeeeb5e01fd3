package org.silora.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads the prepared JSON-lines files shipped under {@code /silora/data/} on the classpath.
 *
 * <pre>{@code
 * List<BrownCorpus.Document> general = PreparedData.brown("train");       // 448 documents
 * List<String> medText = PreparedData.domainText("medical");              // fine-tuning lines
 * List<WordNetDomains.McItem> medTest = PreparedData.domainItems("medical", "test");
 * }</pre>
 */
public final class PreparedData {
    /** Classpath folder of the prepared files. */
    public static final String FOLDER = "/silora/data/";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private PreparedData() {
    }

    /** Brown documents of split {@code train} or {@code heldout}. */
    public static List<BrownCorpus.Document> brown(String split) {
        List<BrownCorpus.Document> docs = new ArrayList<>();
        for (JsonNode n : jsonLines("brown-" + split + ".jsonl")) {
            docs.add(new BrownCorpus.Document(field(n, "id"), field(n, "genre"), field(n, "text")));
        }
        return docs;
    }

    /** The {@code text} of every line of {@code <domain>-train.jsonl} ({@code medical} or {@code science}). */
    public static List<String> domainText(String domain) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : jsonLines(domain + "-train.jsonl")) {
            out.add(field(n, "text"));
        }
        return out;
    }

    /** The multiple-choice items of {@code <domain>-<split>.jsonl}, split {@code valid} or {@code test}. */
    public static List<WordNetDomains.McItem> domainItems(String domain, String split) {
        List<WordNetDomains.McItem> out = new ArrayList<>();
        for (JsonNode n : jsonLines(domain + "-" + split + ".jsonl")) {
            out.add(new WordNetDomains.McItem(field(n, "question"), field(n, "distractor1"), field(n, "distractor2"),
                    field(n, "distractor3"), field(n, "correct_answer"), field(n, "support")));
        }
        return out;
    }

    /** Every non-blank line of a shipped text file (e.g. {@code wordnet-splits.tsv}), header included. */
    public static List<String> lines(String name) {
        String res = FOLDER + name;
        try (InputStream in = PreparedData.class.getResourceAsStream(res)) {
            if (in == null) throw new IllegalArgumentException("classpath resource " + res + " not found");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + res, e);
        }
    }

    /** Parses every line of a shipped JSON-lines file. */
    public static List<JsonNode> jsonLines(String name) {
        String res = FOLDER + name;
        try (InputStream in = PreparedData.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new IllegalArgumentException("classpath resource " + res + " not found");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            List<JsonNode> out = new ArrayList<>();
            String line;
            int no = 0;
            while ((line = r.readLine()) != null) {
                no++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    out.add(MAPPER.readTree(line));
                } catch (IOException e) {
                    throw new IllegalArgumentException(res + ":" + no + ": invalid JSON: " + e.getMessage(), e);
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + res, e);
        }
    }

    private static String field(JsonNode n, String name) {
        JsonNode v = n.get(name);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("missing string field '" + name + "' in " + n);
        }
        return v.asText();
    }
}
