package org.silora.hf.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BpeTrainerTest {

    static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path llamaDir;

    @BeforeAll
    static void trainOnce() {
        llamaDir = tmp.resolve("llama");
        long t0 = System.nanoTime();
        BpeTrainer.train(TestCorpus.texts(), BpeTrainer.Options.llama(500), llamaDir);
        System.out.printf("BpeTrainerTest: trained 500-token BPE on %s in %d ms%n",
                "200 Brown documents + paragraph", (System.nanoTime() - t0) / 1_000_000);
    }

    @Test
    void writesTheThreeFiles() throws IOException {
        JsonNode tok = MAPPER.readTree(llamaDir.resolve("tokenizer.json").toFile());
        assertEquals("BPE", tok.path("model").path("type").asText());
        assertEquals("ByteLevel", tok.path("pre_tokenizer").path("type").asText());
        assertFalse(tok.path("pre_tokenizer").path("add_prefix_space").asBoolean());
        assertTrue(tok.path("pre_tokenizer").path("use_regex").asBoolean());
        assertEquals("ByteLevel", tok.path("decoder").path("type").asText());
        assertEquals("TemplateProcessing", tok.path("post_processor").path("type").asText());
        assertEquals(500, tok.path("model").path("vocab").size());
        assertEquals("<unk>", tok.path("added_tokens").path(0).path("content").asText());
        assertEquals(1, tok.path("model").path("vocab").path("<s>").asInt());
        assertEquals(500 - 3 - 256, tok.path("model").path("merges").size(), "no reused token strings here");
        for (JsonNode m : tok.path("model").path("merges")) {
            assertEquals(2, m.asText().split(" ").length, m.asText());
        }
        JsonNode cfg = MAPPER.readTree(llamaDir.resolve("tokenizer_config.json").toFile());
        assertTrue(cfg.path("add_bos_token").asBoolean());
        assertEquals("<s>", cfg.path("bos_token").asText());
        assertEquals("</s>", cfg.path("eos_token").asText());
        assertEquals(2048, cfg.path("model_max_length").asInt());
        assertEquals("PreTrainedTokenizerFast", cfg.path("tokenizer_class").asText());
        JsonNode map = MAPPER.readTree(llamaDir.resolve("special_tokens_map.json").toFile());
        assertEquals("<unk>", map.path("unk_token").asText());
        try (var files = Files.list(llamaDir)) {
            assertEquals(3, files.count(), "no temporary files left behind");
        }
    }

    @Test
    void deterministic() throws IOException {
        Path again = tmp.resolve("again");
        BpeTrainer.train(TestCorpus.texts(), BpeTrainer.Options.llama(500), again);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
            assertArrayEquals(Files.readAllBytes(llamaDir.resolve(f)), Files.readAllBytes(again.resolve(f)), f);
        }
        // Overwrites in place.
        BpeTrainer.train(TestCorpus.texts(), BpeTrainer.Options.llama(500), again);
        assertArrayEquals(Files.readAllBytes(llamaDir.resolve("tokenizer.json")),
                Files.readAllBytes(again.resolve("tokenizer.json")));
    }

    @Test
    void learnsTheObviousMergesInOrder() throws IOException {
        // "low"x5 "lower"x2 "newest"x6 "widest"x3 (the Sennrich et al. example, with GPT-2 spaces).
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 5; i++) texts.add(" low");
        for (int i = 0; i < 2; i++) texts.add(" lower");
        for (int i = 0; i < 6; i++) texts.add(" newest");
        for (int i = 0; i < 3; i++) texts.add(" widest");
        Path dir = tmp.resolve("toy");
        BpeTrainer.train(texts, new BpeTrainer.Options(256 + 1 + 6, List.of("<s>"), false, 1), dir);
        JsonNode merges = MAPPER.readTree(dir.resolve("tokenizer.json").toFile()).path("model").path("merges");
        List<String> got = new ArrayList<>();
        merges.forEach(m -> got.add(m.asText()));
        // Pair counts: Ġl 7, lo 7, ow 7, Ġn 6, ne 6, ew 6, we 8, es 9, st 9, Ġw 3, wi 3, id 3, de 3, er 2.
        // es/st tie at 9: the smaller left id wins, 'e' < 's' -> "e s", then "es t" (9).
        // Ġl/lo/ow tie at 7: Ġ (byte 0x20) has the smallest id -> "Ġ l"; then "o w" (left 'o') beats "Ġl o"
        // (left is the new, larger id); then "Ġl ow"; then Ġn/ne/ew at 6 -> "Ġ n".
        assertEquals(List.of("e s", "es t", "Ġ l", "o w", "Ġl ow", "Ġ n"), got);
    }

    @Test
    void minFrequencyStopsEarly() throws IOException {
        Path dir = tmp.resolve("minfreq");
        BpeTrainer.train(List.of("abab abab", "cd"), new BpeTrainer.Options(300, List.of("<s>"), false, 2), dir);
        JsonNode model = MAPPER.readTree(dir.resolve("tokenizer.json").toFile()).path("model");
        // Only pairs seen twice or more: "a b" (4), then "ab ab" (2), then "Ġ abab" (1) is not merged.
        List<String> got = new ArrayList<>();
        model.path("merges").forEach(m -> got.add(m.asText()));
        assertEquals(List.of("a b", "ab ab"), got);
        assertEquals(1 + 256 + 2, model.path("vocab").size());
    }

    @Test
    void optionsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer.Options(200, List.of("<s>"), true, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new BpeTrainer.Options(400, List.of("<s>", "<s>"), true, 1));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer.Options(400, List.of(""), false, 1));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer.Options(400, List.of("<s>"), true, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new BpeTrainer.Options(400, List.of("</s>"), true, 1), "addBos needs a BOS token");
        assertThrows(NullPointerException.class, () -> new BpeTrainer.Options(400, null, false, 1));
        assertThrows(NullPointerException.class,
                () -> new BpeTrainer.Options(400, Arrays.asList("<s>", null), false, 1));
    }

    // ------------------------------------------------------------------ independent reference BPE

    @Test
    void djlMatchesANaiveReferenceEncoder() throws IOException {
        Reference ref = new Reference(llamaDir.resolve("tokenizer.json"));
        List<String> sentences = List.of(
                "The quick brown fox jumps over the lazy dog.",
                "  Leading spaces,   multiple   spaces\n\nand newlines\ttabs.",
                "Café crème — naïve résumé, 日本語 and emoji 🙂🚀!",
                "It's what we'll do; they're sure I'd've 12345 numbers 3.14159.",
                "regularization importance parameters catastrophic forgetting LoRA");
        try (HfTokenizer tok = HfTokenizer.load(llamaDir)) {
            for (String s : sentences) {
                assertArrayEquals(ref.encode(s), tok.encode(s, false), s);
            }
            String longText = TestCorpus.words(400);
            assertArrayEquals(ref.encode(longText), tok.encode(longText, false));
        }
    }

    @Test
    void djlMatchesTheReferenceOnALargeVocabulary() throws IOException {
        // min frequency 1 and a vocabulary past the corpus' distinct words: long merges, and token strings
        // reached by two merges ("ab c" and "a bc"), which the BPE model must map to one id.
        Path dir = tmp.resolve("large");
        BpeTrainer.train(TestCorpus.texts(), new BpeTrainer.Options(3000, List.of("<s>", "</s>"), true, 1), dir);
        JsonNode model = MAPPER.readTree(dir.resolve("tokenizer.json").toFile()).path("model");
        System.out.printf("BpeTrainerTest: large vocabulary %d tokens, %d merges%n",
                model.path("vocab").size(), model.path("merges").size());
        Reference ref = new Reference(dir.resolve("tokenizer.json"));
        String all = String.join("\n", TestCorpus.texts());
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertArrayEquals(ref.encode(all), tok.encode(all, false));
            assertEquals(all, tok.decode(tok.encode(all)));
        }
    }

    /** Textbook GPT-2 BPE, written from the algorithm, sharing no code with the main sources. */
    static final class Reference {
        static final Pattern SPLIT = Pattern.compile(
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                Pattern.UNICODE_CHARACTER_CLASS);
        final Map<String, Integer> vocab = new HashMap<>();
        final Map<String, Integer> rank = new HashMap<>();
        final String[] byteChar = new String[256];

        Reference(Path tokenizerJson) throws IOException {
            JsonNode model = MAPPER.readTree(tokenizerJson.toFile()).path("model");
            model.path("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().intValue()));
            int r = 0;
            for (JsonNode m : model.path("merges")) {
                rank.put(m.asText(), r++);
            }
            // bytes_to_unicode from GPT-2's encoder.py
            List<Integer> bs = new ArrayList<>();
            for (int b = '!'; b <= '~'; b++) bs.add(b);
            for (int b = 0xA1; b <= 0xAC; b++) bs.add(b);
            for (int b = 0xAE; b <= 0xFF; b++) bs.add(b);
            List<Integer> cs = new ArrayList<>(bs);
            int n = 0;
            for (int b = 0; b < 256; b++) {
                if (!bs.contains(b)) {
                    bs.add(b);
                    cs.add(256 + n++);
                }
            }
            for (int i = 0; i < 256; i++) {
                byteChar[bs.get(i)] = new String(Character.toChars(cs.get(i)));
            }
        }

        int[] encode(String text) {
            List<Integer> ids = new ArrayList<>();
            Matcher m = SPLIT.matcher(text);
            while (m.find()) {
                List<String> word = new ArrayList<>();
                for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) {
                    word.add(byteChar[b & 0xFF]);
                }
                while (word.size() > 1) {
                    int best = Integer.MAX_VALUE;
                    String bestPair = null;
                    for (int i = 0; i + 1 < word.size(); i++) {
                        Integer rk = rank.get(word.get(i) + " " + word.get(i + 1));
                        if (rk != null && rk < best) {
                            best = rk;
                            bestPair = word.get(i) + " " + word.get(i + 1);
                        }
                    }
                    if (bestPair == null) {
                        break;
                    }
                    List<String> next = new ArrayList<>();
                    for (int i = 0; i < word.size(); i++) {
                        if (i + 1 < word.size() && (word.get(i) + " " + word.get(i + 1)).equals(bestPair)) {
                            next.add(word.get(i) + word.get(i + 1));
                            i++;
                        } else {
                            next.add(word.get(i));
                        }
                    }
                    word = next;
                }
                for (String sym : word) {
                    Integer id = vocab.get(sym);
                    if (id == null) {
                        throw new AssertionError("symbol not in vocab: " + sym);
                    }
                    ids.add(id);
                }
            }
            return ids.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    @Test
    void theCorpusIsRealText() {
        List<String> texts = TestCorpus.texts();
        assertTrue(texts.size() > 200, "documents: " + texts.size());
        assertTrue(String.join(" ", texts).split("\\s+").length > 10_000, "words");
    }
}
