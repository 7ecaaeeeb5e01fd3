package org.silora.io;

import com.github.luben.zstd.ZstdOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The one text reader: a {@code .jsonl.zst} file reads as the same documents as its {@code .jsonl}, and cutting
 * windows from a stream of documents with a row limit gives exactly the first rows of the whole cut.
 */
class TextDocumentsTest {

    @TempDir
    Path tmp;

    @Test
    void zstdJsonLinesAndStreamedWindowsMatchTheWholeFile() throws Exception {
        List<String> docs = new ArrayList<>();
        String[] words = {"the", "committee", "said", "that", "city", "should", "pay", "for", "new", "roads", "before", "year"};
        for (int i = 0; i < 40; i++) {
            StringBuilder b = new StringBuilder();
            for (int j = 0; j < 3 + (i * 7) % 11; j++) b.append(j == 0 ? "" : " ").append(words[(i * 5 + j * 3) % words.length]);
            docs.add(b.append('.').toString());
        }
        StringBuilder jsonl = new StringBuilder();
        for (String d : docs) jsonl.append("{\"text\":\"").append(d).append("\"}\n");
        Path plain = tmp.resolve("docs.jsonl");
        Files.writeString(plain, jsonl);
        Path zst = tmp.resolve("docs.jsonl.zst");
        try (OutputStream o = new ZstdOutputStream(Files.newOutputStream(zst))) {
            o.write(jsonl.toString().getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(docs, TextDocuments.read(plain));
        assertEquals(docs, TextDocuments.read(zst));
        assertEquals(docs.subList(0, 7), TextDocuments.read(zst, 7));

        Path model = tmp.resolve("tok");
        BpeTrainer.train(List.of(String.join("\n", docs)), BpeTrainer.Options.llama(300), model);
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            for (int seqLen : new int[]{3, 16, 64}) {
                List<int[]> whole = TextDocuments.windows(docs, tok, seqLen);
                for (int max : new int[]{1, 3, whole.size() - 1, whole.size(), whole.size() + 5, 0}) {
                    List<int[]> streamed;
                    try (Stream<String> s = TextDocuments.documents(zst)) {
                        streamed = TextDocuments.windows(s.iterator(), tok, seqLen, max);
                    }
                    int expect = max <= 0 ? whole.size() : Math.min(max, whole.size());
                    assertEquals(expect, streamed.size(), "seqLen " + seqLen + ", max " + max);
                    for (int r = 0; r < expect; r++) assertArrayEquals(whole.get(r), streamed.get(r), "row " + r);
                }
            }
        }
    }
}
