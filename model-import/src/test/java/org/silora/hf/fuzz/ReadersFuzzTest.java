package org.silora.hf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.safetensors.TensorInfo;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the two readers that face untrusted files, with Jazzer. Any outcome but success or a
 * {@link ModelFormatException} is a finding (a crash, an unchecked exception, an allocation from an unchecked size).
 * By default (as in {@code mvn verify}) each test replays its seed corpus under
 * {@code src/test/resources/org/silora/hf/fuzz/ReadersFuzzTestInputs/<method>/}; {@code JAZZER_FUZZ=1} fuzzes for
 * the {@code maxDuration} below (CI runs a short fuzz, see {@code .ci/run}; longer on demand with
 * {@code -Djazzer.max_duration=10m}).
 */
class ReadersFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @FuzzTest(maxDuration = "20s")
    void safetensorsReaderRejectsOrReads(byte[] data) throws IOException {
        Path f = Files.createTempFile("fuzz", ".safetensors");
        try {
            Files.write(f, data);
            try (SafetensorsFile st = SafetensorsFile.open(f)) {
                for (TensorInfo t : st.tensors().values()) {
                    if (t.numel() <= 1 << 16) st.readFloat(t.name());
                }
            } catch (ModelFormatException expected) {
                // a clear one-line rejection is the right answer to a broken file
                if (expected.getMessage().contains("\n")) throw new AssertionError("multi-line message: " + expected.getMessage());
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /**
     * tokenizer.json: our checks first, then DJL's native {@code tokenizers} (Rust); a panic there must come back as a
     * one-line error, not kill the JVM.
     */
    @FuzzTest(maxDuration = "20s")
    void tokenizerRejectsOrLoads(byte[] data) throws IOException {
        Path dir = Files.createTempDirectory("fuzz-tok");
        Path f = dir.resolve("tokenizer.json");
        try {
            Files.write(f, data);
            HfTokenizer tok = HfTokenizer.load(dir);
            int[] ids = tok.encode("Hello world, 12 tokens ünïcode");
            tok.decode(ids);
        } catch (ModelFormatException expected) {
            if (expected.getMessage().contains("\n")) throw new AssertionError("multi-line message: " + expected.getMessage());
        } finally {
            Files.deleteIfExists(f);
            Files.deleteIfExists(dir);
        }
    }

    /** Writes the tokenizer seeds: a small byte-level BPE trained by {@link BpeTrainer}, LLaMA and GPT-J flavour. */
    @org.junit.jupiter.api.Test
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "silora.writeFuzzSeeds", matches = "true")
    void writeTokenizerSeeds() throws IOException {
        Path seeds = Path.of("src/test/resources/org/silora/hf/fuzz/ReadersFuzzTestInputs/tokenizerRejectsOrLoads");
        Files.createDirectories(seeds);
        java.util.List<String> text = java.util.List.of("the cat sat on the mat", "a tokenizer for fuzzing, 1 2 3", "Hello world");
        for (var e : java.util.Map.of("bpe-llama", BpeTrainer.Options.llama(300), "bpe-gptj", BpeTrainer.Options.gptj(300)).entrySet()) {
            Path out = Files.createTempDirectory("tok");
            BpeTrainer.train(text, e.getValue(), out);
            Files.copy(out.resolve("tokenizer.json"), seeds.resolve(e.getKey()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @FuzzTest(maxDuration = "20s")
    void configParserRejectsOrParses(byte[] data) {
        com.fasterxml.jackson.databind.JsonNode root;
        try {
            root = JSON.readTree(data);
        } catch (IOException notJson) {
            return;   // the JSON layer's own rejection is covered by ModelConfigsTest
        }
        try {
            ModelConfigs.parse(root, Path.of("config.json"));
        } catch (ModelFormatException expected) {
            if (expected.getMessage().contains("\n")) throw new AssertionError("multi-line message: " + expected.getMessage());
        }
    }
}
