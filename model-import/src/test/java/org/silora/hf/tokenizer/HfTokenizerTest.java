package org.silora.hf.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.silora.hf.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HfTokenizerTest {

    static final ObjectMapper MAPPER = new ObjectMapper();

    static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Hello world",
            " leading space",
            "   three leading spaces and  two  inner  ones  ",
            "line one\nline two\n\n\nafter blank lines\r\n\ttab",
            "Café, naïve, résumé — é è ê ë",
            "日本語のテキスト and 日本",
            "emoji 🙂🚀👩‍👩‍👧 flags 🇯🇵",
            "numbers 0.0003, 1000 steps; it's we'll they're",
            "",
            " ",
            "\n");

    @TempDir
    static Path tmp;
    static Path llamaDir;
    static Path gptjDir;
    static HfTokenizer llama;
    static HfTokenizer gptj;

    @BeforeAll
    static void train() {
        llamaDir = tmp.resolve("llama");
        gptjDir = tmp.resolve("gptj");
        BpeTrainer.train(TestCorpus.texts(), BpeTrainer.Options.llama(500), llamaDir);
        BpeTrainer.train(TestCorpus.texts(), BpeTrainer.Options.gptj(500), gptjDir);
        llama = HfTokenizer.load(llamaDir);
        gptj = HfTokenizer.load(gptjDir);
    }

    @AfterAll
    static void close() {
        llama.close();
        gptj.close();
    }

    @Test
    void roundTripIsExact() {
        for (HfTokenizer tok : List.of(llama, gptj)) {
            for (String s : SENTENCES) {
                assertEquals(s, tok.decode(tok.encode(s)), tok + ": " + s);
                assertEquals(s, tok.decode(tok.encode(s, false)), tok + ": " + s);
            }
        }
    }

    @Test
    void idsAreInsideTheVocabulary() {
        assertEquals(500, llama.vocabSize());
        assertEquals(500, gptj.vocabSize());
        for (String s : SENTENCES) {
            for (int id : llama.encode(s)) {
                assertTrue(id >= 0 && id < llama.vocabSize(), s + " -> " + id);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> llama.decode(new int[] {500}));
        assertThrows(IllegalArgumentException.class, () -> llama.decode(new int[] {-1}));
    }

    @Test
    void frequentWordsAreOneToken() {
        assertEquals(1, llama.encode(" the", false).length);
        assertEquals(1, gptj.encode(" the", false).length);
        int the = llama.encode(" the", false)[0];
        int[] ids = llama.encode("and the cat and the dog", false);
        assertEquals(2, Arrays.stream(ids).filter(i -> i == the).count(), Arrays.toString(ids));
    }

    @Test
    void bosOnlyWhenConfigured() {
        assertEquals(OptionalInt.of(1), llama.bosId());
        assertEquals(OptionalInt.of(2), llama.eosId());
        assertEquals(OptionalInt.empty(), llama.padId());
        int[] with = llama.encode("Hello world");
        int[] without = llama.encode("Hello world", false);
        assertEquals(1, with[0]);
        assertEquals(without.length + 1, with.length);
        assertArrayEquals(without, Arrays.copyOfRange(with, 1, with.length));
        assertArrayEquals(new int[] {1}, llama.encode(""));
        assertEquals("<s>Hello world", llama.decode(with, false));

        assertEquals(OptionalInt.of(0), gptj.bosId());
        assertEquals(OptionalInt.of(0), gptj.eosId());
        assertArrayEquals(gptj.encode("Hello world", false), gptj.encode("Hello world"));
        assertEquals(0, gptj.encode("").length);
    }

    @Test
    void postProcessorDecidesWithoutConfigFlags() throws IOException {
        // tokenizer.json alone: its TemplateProcessing adds <s>; BOS found from the template.
        Path dir = tmp.resolve("json-only");
        Files.createDirectories(dir);
        Files.copy(llamaDir.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertEquals(1, tok.encode("Hi")[0]);
            assertEquals(OptionalInt.of(1), tok.bosId());
            assertEquals(OptionalInt.empty(), tok.eosId());
        }
        // Explicit add_bos_token=false overrides the post_processor (as LlamaTokenizerFast does).
        ObjectNode cfg = (ObjectNode) MAPPER.readTree(llamaDir.resolve("tokenizer_config.json").toFile());
        cfg.put("add_bos_token", false);
        cfg.put("add_eos_token", true);
        Files.writeString(dir.resolve("tokenizer_config.json"), cfg.toString());
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            int[] ids = tok.encode("Hi");
            assertArrayEquals(tok.encode("Hi", false), Arrays.copyOf(ids, ids.length - 1));
            assertEquals(2, ids[ids.length - 1]);
        }
        // A LLaMA class without flags: BOS by default, as LlamaTokenizer.
        cfg.remove("add_bos_token");
        cfg.remove("add_eos_token");
        cfg.put("tokenizer_class", "LlamaTokenizer");
        Files.writeString(dir.resolve("tokenizer_config.json"), cfg.toString());
        Files.copy(gptjDir.resolve("tokenizer.json"), dir.resolve("tokenizer.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        cfg.put("bos_token", "<|endoftext|>");
        cfg.put("eos_token", "<|endoftext|>");
        cfg.remove("unk_token");
        Files.writeString(dir.resolve("tokenizer_config.json"), cfg.toString());
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertEquals(0, tok.encode("Hi")[0]);
            assertEquals(tok.encode("Hi", false).length + 1, tok.encode("Hi").length);
        }
    }

    @Test
    void longTextsAreNotTruncated() {
        String text = TestCorpus.words(3000);
        int[] ids = llama.encode(text);
        assertTrue(ids.length > 3000, "got " + ids.length);
        assertEquals(text, llama.decode(ids));
        int[] g = gptj.encode(text);
        assertTrue(g.length > 3000, "got " + g.length);
        assertEquals(text, gptj.decode(g));
    }

    @Test
    void truncationAndPaddingInTheFileAreIgnored() throws IOException {
        Path dir = tmp.resolve("truncating");
        Files.createDirectories(dir);
        ObjectNode json = (ObjectNode) MAPPER.readTree(llamaDir.resolve("tokenizer.json").toFile());
        json.set("truncation", MAPPER.readTree(
                "{\"direction\":\"Right\",\"max_length\":16,\"strategy\":\"LongestFirst\",\"stride\":0}"));
        json.set("padding", MAPPER.readTree("{\"strategy\":{\"Fixed\":64},\"direction\":\"Right\","
                + "\"pad_to_multiple_of\":null,\"pad_id\":0,\"pad_type_id\":0,\"pad_token\":\"<unk>\"}"));
        Files.writeString(dir.resolve("tokenizer.json"), json.toString());
        String text = TestCorpus.words(700);
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertArrayEquals(llama.encode(text, false), tok.encode(text, false));
            assertEquals(llama.encode("Hi", false).length, tok.encode("Hi", false).length, "not padded");
        }
    }

    @Test
    void addedTokensInTextAreRecognised() {
        int[] ids = llama.encode("a</s>b", false);
        assertTrue(Arrays.stream(ids).anyMatch(i -> i == 2), Arrays.toString(ids));
        assertEquals("ab", llama.decode(ids));
        assertEquals("a</s>b", llama.decode(ids, false));
    }

    @Test
    void closeIsIdempotent() {
        HfTokenizer tok = HfTokenizer.load(llamaDir);
        tok.close();
        tok.close();
    }

    // ------------------------------------------------------------------ bad files

    private static void assertOneLineNaming(ModelFormatException e, Path file) {
        String msg = e.getMessage();
        assertFalse(msg.contains("\n") || msg.contains("\r"), msg);
        assertTrue(msg.contains(file.toString()), msg);
    }

    @Test
    void missingFile() {
        Path dir = tmp.resolve("empty-dir");
        var e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(dir));
        assertOneLineNaming(e, dir.resolve("tokenizer.json"));
    }

    @Test
    void notJson() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("not-json"));
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\",\n oops");
        var e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(dir));
        assertOneLineNaming(e, dir.resolve("tokenizer.json"));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void corruptTokenizerJsonRejectedByTheLibrary() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("corrupt"));
        ObjectNode json = (ObjectNode) MAPPER.readTree(llamaDir.resolve("tokenizer.json").toFile());
        ((ObjectNode) json.get("model")).put("type", "NoSuchModel");
        Files.writeString(dir.resolve("tokenizer.json"), json.toString());
        var e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(dir));
        assertOneLineNaming(e, dir.resolve("tokenizer.json"));

        // merges naming symbols that are not in the vocabulary
        json = (ObjectNode) MAPPER.readTree(llamaDir.resolve("tokenizer.json").toFile());
        ((com.fasterxml.jackson.databind.node.ArrayNode) json.get("model").get("merges")).add("zzz qqq");
        Files.writeString(dir.resolve("tokenizer.json"), json.toString());
        e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(dir));
        assertOneLineNaming(e, dir.resolve("tokenizer.json"));

        Files.writeString(dir.resolve("tokenizer.json"), "[1, 2, 3]");
        e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(dir));
        assertOneLineNaming(e, dir.resolve("tokenizer.json"));
    }

    @Test
    void badConfigFiles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("bad-config"));
        Files.copy(llamaDir.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "not json");
        var e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(dir));
        assertOneLineNaming(e, dir.resolve("tokenizer_config.json"));

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<nope>\"}");
        e = assertThrows(ModelFormatException.class, () -> HfTokenizer.load(dir));
        assertOneLineNaming(e, dir.resolve("tokenizer_config.json"));
        assertTrue(e.getMessage().contains("<nope>"), e.getMessage());

        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"add_bos_token\": true, \"bos_token\": {\"content\": \"</s>\", \"__type\": \"AddedToken\"}}");
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            assertEquals(2, tok.encode("x")[0], "AddedToken object form");
        }
    }
}
