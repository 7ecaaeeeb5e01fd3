package org.silora.hf.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * English training text: the first documents of the repository's own Brown training file (a sibling module's
 * resource, so present in every checkout, wherever it is), plus a paragraph with accents, CJK and an emoji.
 */
final class TestCorpus {

    static final Path BROWN = Path.of("../examples/src/main/resources/silora/data/brown-train.jsonl");

    static final String PARAGRAPH = """
            The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times,
            it was the age of wisdom, it was the age of foolishness. We fine-tune the model on the new task while
            the importance of each parameter for the old tasks keeps the weights that matter close to where they
            were. The adapter has a rank of 8 and the learning rate is 0.0003; training ran for 1000 steps.
            Café crème, naïve résumé: the tokenizer must handle accents, 日本語のテキスト, and emoji 🙂 too.
            """;

    private TestCorpus() {
    }

    /** The text of the first 200 documents of the Brown file, then the paragraph's lines. */
    static List<String> texts() {
        List<String> texts = new ArrayList<>();
        if (!Files.isRegularFile(BROWN)) throw new IllegalStateException(BROWN.toAbsolutePath() + " is part of the repository");
        try {
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            for (String line : Files.readAllLines(BROWN).subList(0, 200)) texts.add(json.readTree(line).get("text").asText());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        texts.addAll(PARAGRAPH.lines().toList());
        return texts;
    }

    /** A text of exactly {@code n} words, built from the corpus words. */
    static String words(int n) {
        String[] words = String.join(" ", texts()).trim().split("\\s+");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(i % 17 == 0 ? "\n" : " ");
            }
            sb.append(words[i % words.length]);
        }
        return sb.toString();
    }
}
