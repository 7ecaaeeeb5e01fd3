package org.silora.hf.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.ModelFormatException;

class SafetensorsCheckpointTest {
    @TempDir
    Path root;

    private Path model() throws IOException {
        Path dir = Files.createDirectories(root.resolve("model"));
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), Map.of("format", "pt"),
                Map.of("a", Nd4j.createFromArray(1f, 2f, 3f)), DType.F32);
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), Map.of("format", "pt"),
                new java.util.LinkedHashMap<>(Map.of("b", Nd4j.createFromArray(0.5f, -1f))), DType.BF16);
        return dir;
    }

    private static void index(Path dir, String weightMap) throws IOException {
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\":{\"total_size\":16},\"weight_map\":{" + weightMap + "}}");
    }

    private static final String GOOD = "\"a\":\"model-00001-of-00002.safetensors\","
            + "\"b\":\"model-00002-of-00002.safetensors\"";

    private static String rejected(Path dir, String... parts) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsCheckpoint.open(dir).close());
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        for (String p : parts) {
            assertTrue(m.contains(p), "expected '" + p + "' in: " + m);
        }
        return m;
    }

    @Test
    void readsTwoShards() throws IOException {
        Path dir = model();
        index(dir, GOOD);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(List.of("a", "b"), List.copyOf(c.names()));
            assertTrue(c.contains("b"));
            assertFalse(c.contains("c"));
            assertEquals(Nd4j.createFromArray(1f, 2f, 3f), c.readFloat("a"));
            assertEquals(Nd4j.createFromArray(0.5f, -1f), c.readFloat("b"));
            assertEquals(DType.BF16, c.info("b").dtype());
            assertEquals(List.of(dir.resolve("model-00001-of-00002.safetensors"),
                    dir.resolve("model-00002-of-00002.safetensors")), c.files());
            assertEquals(12 + 4, c.totalBytes());
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> c.readFloat("missing"));
            assertTrue(e.getMessage().startsWith(dir + ": ") && e.getMessage().contains("'missing'"), e.getMessage());
        }
    }

    @Test
    void readsASingleFile() throws IOException {
        Path dir = Files.createDirectories(root.resolve("single"));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of(),
                Map.of("w", Nd4j.createFromArray(new float[][] {{1, 2}, {3, 4}})), DType.F16);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(List.of("w"), List.copyOf(c.names()));
            assertArrayEquals(new long[] {2, 2}, c.info("w").shape());
            assertEquals(Nd4j.createFromArray(new float[][] {{1, 2}, {3, 4}}), c.readFloat("w"));
            assertEquals(8, c.totalBytes());
            assertEquals(List.of(dir.resolve("model.safetensors")), c.files());
        }
    }

    @Test
    void emptyFolder() throws IOException {
        Path dir = Files.createDirectories(root.resolve("empty"));
        assertEquals(dir + ": no model.safetensors or model.safetensors.index.json", rejected(dir));
        rejected(root.resolve("nowhere"), "no such directory");
    }

    @Test
    void shardNamesMustStayInside() throws IOException {
        Path dir = model();
        SafetensorsWriter.write(root.resolve("evil.safetensors"), Map.of(),
                Map.of("b", Nd4j.createFromArray(0.5f, -1f)), DType.BF16);
        index(dir, "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"../evil.safetensors\"");
        rejected(dir, "'../evil.safetensors'", "inside the folder");
        index(dir, "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"/etc/passwd\"");
        rejected(dir, "'/etc/passwd'", "absolute");
        Files.createDirectories(dir.resolve("sub"));
        index(dir, "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"sub/../../evil.safetensors\"");
        rejected(dir, "'sub/../../evil.safetensors'", "inside the folder");
        index(dir, "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"sub\\\\..\\\\..\\\\evil.safetensors\"");
        rejected(dir, "not a plain file name");
        Files.createSymbolicLink(dir.resolve("link.safetensors"), root.resolve("evil.safetensors"));
        index(dir, "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"link.safetensors\"");
        rejected(dir, "'link.safetensors'", "outside the checkpoint folder");
        index(dir, "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00003-of-00002.safetensors\"");
        rejected(dir, "'model-00003-of-00002.safetensors'", "does not exist");
        index(dir, "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"\"");
        rejected(dir, "not a plain file name");
    }

    @Test
    void indexMustAgreeWithTheShards() throws IOException {
        Path dir = model();
        index(dir, GOOD + ",\"c\":\"model-00002-of-00002.safetensors\"");
        rejected(dir, "tensor 'c'", "does not contain it");
        index(dir, "\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00001-of-00002.safetensors\"");
        rejected(dir, "tensor 'b'", "does not contain it");
        index(dir, GOOD + ",\"a\":\"model-00001-of-00002.safetensors\"");
        rejected(dir, "Duplicate field 'a'");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":[]}");
        rejected(dir, "weight_map is a JSON array");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"a\":3}}");
        rejected(dir, "'a'", "not a file name");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{}");
        rejected(dir, "no weight_map");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "nonsense");
        rejected(dir, "model.safetensors.index.json: index is not valid JSON");
    }

    @Test
    void shardWithAnUnlistedTensor() throws IOException {
        Path dir = model();
        // shard 1 gets a second tensor the index does not mention
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), Map.of(),
                new java.util.LinkedHashMap<>(Map.of("a", Nd4j.createFromArray(1f, 2f, 3f))) {{
                    put("extra", Nd4j.createFromArray(9f));
                }}, DType.F32);
        index(dir, GOOD);
        rejected(dir, "shard 'model-00001-of-00002.safetensors'", "'extra'", "does not list");
        // shard 1 also holds 'b', which the index places in shard 2
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), Map.of(),
                new java.util.LinkedHashMap<>(Map.of("a", Nd4j.createFromArray(1f, 2f, 3f))) {{
                    put("b", Nd4j.createFromArray(9f));
                }}, DType.F32);
        rejected(dir, "shard 'model-00001-of-00002.safetensors' contains tensor 'b'",
                "lists in shard 'model-00002-of-00002.safetensors'");
    }
}
