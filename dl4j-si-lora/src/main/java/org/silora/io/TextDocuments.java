package org.silora.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.silora.hf.Messages;
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
import java.util.Iterator;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;

/**
 * The one reader of text for every command: the Pile's {@code *.jsonl.zst} (streamed, {@link PileJsonlZst}), JSON
 * lines with a {@code "text"} field ({@code .jsonl}), or plain text where blank lines separate documents; and its cut
 * into token windows for causal-LM training, streamed so that {@code --max-rows} reads only what it needs.
 *
 * <pre>{@code
 * List<String> docs = TextDocuments.read(Path.of("brown-train.jsonl"));
 * List<int[]> rows = TextDocuments.windows(docs, tokenizer, 128);   // rows of 129 tokens: 128 predictions each
 * try (Stream<String> pile = TextDocuments.documents(Path.of("00.jsonl.zst"))) {
 *     List<int[]> first = TextDocuments.windows(pile.iterator(), tokenizer, 128, 1000);
 * }
 * }</pre>
 */
public final class TextDocuments {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TextDocuments() {
    }

    /** The documents of {@code file} (any accepted form), as a stream to close. */
    public static Stream<String> documents(Path file) {
        if (file.getFileName().toString().endsWith(".zst")) return PileJsonlZst.documents(file);
        return read(file).stream();
    }

    /** At most {@code max} documents of {@code file} ({@code max <= 0}: all). */
    public static List<String> read(Path file, int max) {
        try (Stream<String> s = documents(file)) {
            return (max > 0 ? s.limit(max) : s).toList();
        }
    }

    /** The documents of {@code file}: {@code .jsonl.zst}, {@code .jsonl} (field {@code text}) or plain text. */
    public static List<String> read(Path file) {
        if (file.getFileName().toString().endsWith(".zst")) return read(file, 0);
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
                        throw ModelFormatException.of(file, "line " + n + ": not valid JSON: " + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED));
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
        return windows(docs.iterator(), tokenizer, seqLen, 0);
    }

    /**
     * As {@link #windows(List, HfTokenizer, int)} over documents read as they come, stopping once {@code maxRows} rows
     * are cut ({@code maxRows <= 0}: all): the same rows as cutting all the documents and keeping the first
     * {@code maxRows}.
     */
    public static List<int[]> windows(Iterator<String> docs, HfTokenizer tokenizer, int seqLen, int maxRows) {
        if (seqLen < 1) throw new IllegalArgumentException("sequence length must be >= 1");
        OptionalInt eos = tokenizer.eosId();
        int[] buf = new int[1024];
        int n = 0;          // tokens in buf
        List<int[]> rows = new ArrayList<>();
        while (docs.hasNext() && (maxRows <= 0 || rows.size() < maxRows)) {
            int[] ids = tokenizer.encode(docs.next());
            int extra = eos.isPresent() ? 1 : 0;
            if (n + ids.length + extra > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n + ids.length + extra));
            System.arraycopy(ids, 0, buf, n, ids.length);
            n += ids.length;
            if (eos.isPresent()) buf[n++] = eos.getAsInt();
            // every row that is complete now is final: rows start every seqLen tokens and span seqLen + 1
            int start = 0;
            while (start + seqLen + 1 <= n && (maxRows <= 0 || rows.size() < maxRows)) {
                rows.add(Arrays.copyOfRange(buf, start, start + seqLen + 1));
                start += seqLen;
            }
            if (start > 0) {
                System.arraycopy(buf, start, buf, 0, n - start);
                n -= start;
            }
        }
        // the last, shorter row (at least 2 tokens), as the whole-list cut keeps it
        if ((maxRows <= 0 || rows.size() < maxRows) && n >= 2) rows.add(Arrays.copyOf(buf, n));
        return rows;
    }
}
