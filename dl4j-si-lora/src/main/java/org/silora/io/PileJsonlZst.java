package org.silora.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.github.luben.zstd.ZstdInputStream;
import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The Pile as published: zstd-compressed JSON lines ({@code *.jsonl.zst}) with the document in {@code text}
 * (and {@code meta}). Streamed: nothing but the current line is held, so a 14 GB shard is read in constant
 * memory and a caller that wants N documents stops after N. Decompression by zstd-jni.
 *
 * <pre>{@code
 * try (Stream<String> docs = PileJsonlZst.documents(Path.of("00.jsonl.zst"))) {
 *     List<String> first = docs.limit(20_000).toList();
 * }
 * }</pre>
 * A line that is not JSON or has no string {@code text} is an error {@code "<file>: line N: ..."}.
 */
public final class PileJsonlZst {

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private PileJsonlZst() {
    }

    /** The documents in file order; close the stream to release the file. Empty texts are skipped. */
    public static Stream<String> documents(Path file) {
        BufferedReader r;
        try {
            var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            r = new BufferedReader(new InputStreamReader(new ZstdInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16)), dec), 1 << 16);
        } catch (NoSuchFileException e) {
            throw ModelFormatException.of(file, "no such file");
        } catch (IOException e) {
            throw ModelFormatException.of(file, "cannot open as zstd: " + e.getMessage());
        }
        Iterator<String> it = new Iterator<>() {
            int line;
            String next;

            @Override
            public boolean hasNext() {
                while (next == null) {
                    String l;
                    try {
                        l = r.readLine();
                    } catch (java.nio.charset.CharacterCodingException e) {
                        throw ModelFormatException.of(file, "line " + (line + 1) + ": not UTF-8 text");
                    } catch (IOException e) {
                        throw ModelFormatException.of(file, "line " + (line + 1) + ": cannot decompress: " + e.getMessage());
                    }
                    if (l == null) return false;
                    line++;
                    if (l.isBlank()) continue;
                    JsonNode n;
                    try {
                        n = JSON.readTree(l);
                    } catch (JsonProcessingException e) {
                        throw ModelFormatException.of(file, "line " + line + ": not valid JSON: " + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED));
                    }
                    JsonNode t = n == null ? null : n.get("text");
                    if (t == null || !t.isTextual()) throw ModelFormatException.of(file, "line " + line + ": no string field 'text'");
                    if (!t.asText().isEmpty()) next = t.asText();
                }
                return true;
            }

            @Override
            public String next() {
                if (!hasNext()) throw new NoSuchElementException();
                String s = next;
                next = null;
                return s;
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .onClose(() -> {
                    try {
                        r.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
    }
}
