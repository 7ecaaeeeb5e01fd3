package org.silora.hf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.safetensors.TensorInfo;

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
