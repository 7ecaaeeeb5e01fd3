package org.silora.eval;

import org.silora.io.TextDocuments;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * General text from any of the accepted forms: the Pile's {@code *.jsonl.zst} (streamed, {@link PileJsonlZst}),
 * JSON lines with {@code text}, or plain text where blank lines separate documents ({@link TextDocuments}).
 */
public final class TextCorpus {

    private TextCorpus() {
    }

    /** The documents of {@code file}; close the stream. */
    public static Stream<String> documents(Path file) {
        if (file.getFileName().toString().endsWith(".zst")) return PileJsonlZst.documents(file);
        List<String> docs = TextDocuments.read(file);
        return docs.stream();
    }

    /** At most {@code max} documents ({@code max <= 0}: all). */
    public static List<String> read(Path file, int max) {
        try (Stream<String> s = documents(file)) {
            return (max > 0 ? s.limit(max) : s).toList();
        }
    }
}
