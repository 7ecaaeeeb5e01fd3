package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kind of broken or hostile file that issue 9 names, through the command line as a user meets it: exit 1,
 * one line on stderr naming the file and the problem, nothing on stdout, no output file left behind.
 */
class HostileInputCliTest extends CapturedCli {

    @TempDir
    Path tmp;
    private Path good;
    private ModelConfig cfg;

    @BeforeEach
    void goodModel() throws IOException {
        cfg = TinyModels.llamaGqa();
        good = tmp.resolve("good");
        TinyModels.write(good, cfg, TinyModels.randomWeights(cfg, 1), DType.F32, 1);
    }

    /** A copy of the good model whose {@code model.safetensors} is replaced by {@code bytes}. */
    private Path withWeights(String name, byte[] bytes) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Files.copy(good.resolve("config.json"), dir.resolve("config.json"));
        Files.write(dir.resolve("model.safetensors"), bytes);
        return dir;
    }

    private Path withConfig(String name, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Files.copy(good.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        ObjectMapper om = new ObjectMapper();
        ObjectNode c = (ObjectNode) om.readTree(good.resolve("config.json").toFile());
        edit.accept(c);
        Files.writeString(dir.resolve("config.json"), om.writeValueAsString(c));
        return dir;
    }

    /** A safetensors file from a header JSON and a data section. */
    private static byte[] safetensors(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    private void rejected(String expected, String... args) {
        out.reset();
        err.reset();
        assertEquals(1, execute(args), () -> "exit code; stderr: " + err);
        String e = err.toString(StandardCharsets.UTF_8).strip();
        assertEquals(1, e.lines().count(), "one line: " + e);
        assertTrue(e.startsWith("silora " + args[0] + ": error: "), e);
        assertTrue(e.contains(expected), "names '" + expected + "': " + e);
        assertEquals(0, out.size(), "nothing on stdout");
    }

    @Test
    void brokenCheckpointsAreOneLineErrors() throws IOException {
        byte[] huge = new byte[16];
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 62);
        rejected("model.safetensors", "logits", "--model", withWeights("huge-header", huge).toString(), "--ids", "1");
        rejected("model.safetensors", "logits", "--model", withWeights("past-end", safetensors(
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1600000000]}}", 16)).toString(), "--ids", "1");
        rejected("model.safetensors", "logits", "--model", withWeights("reversed", safetensors(
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", 16)).toString(), "--ids", "1");
        rejected("model.safetensors", "logits", "--model", withWeights("shape-vs-bytes", safetensors(
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000],\"data_offsets\":[0,16]}}", 16)).toString(), "--ids", "1");
        rejected("model.safetensors", "logits", "--model", withWeights("unknown-dtype", safetensors(
                "{\"x\":{\"dtype\":\"Q4_K\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16)).toString(), "--ids", "1");
        rejected("model.safetensors", "logits", "--model", withWeights("truncated",
                java.util.Arrays.copyOf(Files.readAllBytes(good.resolve("model.safetensors")), 300)).toString(), "--ids", "1");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Map<String, INDArray> w = new LinkedHashMap<>(TinyModels.randomWeights(cfg, 1));
        w.remove("model.layers.1.self_attn.q_proj.weight");
        Path dir = tmp.resolve("missing");
        TinyModels.write(dir, cfg, w, DType.F32, 1);
        rejected("model.layers.1.self_attn.q_proj.weight", "logits", "--model", dir.toString(), "--ids", "1");
    }

    @Test
    void inconsistentOrUnknownConfigsAreOneLineErrors() throws IOException {
        rejected("config.json", "logits", "--model", withConfig("heads", c -> c.put("num_attention_heads", 5)).toString(), "--ids", "1");
        rejected("config.json", "logits", "--model", withConfig("arch", c -> c.putArray("architectures").add("MambaForCausalLM")).toString(), "--ids", "1");
        rejected("config.json", "logits", "--model", withConfig("negative", c -> c.put("hidden_size", -64)).toString(), "--ids", "1");
    }

    @Test
    void shardIndexThatLeavesTheFolderIsRefused() throws IOException {
        Path dir = tmp.resolve("sharded");
        TinyModels.write(dir, cfg, TinyModels.randomWeights(cfg, 1), DType.F32, 2);
        Path index = dir.resolve("model.safetensors.index.json");
        assertTrue(Files.exists(index));
        String json = Files.readString(index);
        Files.writeString(index, json.replaceFirst("\"model-00001-of-00002\\.safetensors\"", "\"../good/model.safetensors\""));
        rejected("model.safetensors.index.json", "logits", "--model", dir.toString(), "--ids", "1");
    }

    @Test
    void adapterThatDoesNotFitTheBaseLeavesNoMergedFile() throws IOException {
        // an adapter trained on a model of another width
        ModelConfig other = TinyModels.gptj();
        LoraModel m = LoraModel.create(other, org.silora.hf.graph.Weights.of(TinyModels.randomWeights(other, 2)),
                LoraConfig.builder().r(2).targetModules("q_proj", "v_proj").build(), 1);
        Path adapter = tmp.resolve("adapter");
        PeftAdapters.save(m, adapter);
        Path merged = tmp.resolve("merged");
        rejected("adapter", "merge", "--model", good.toString(), "--adapter", adapter.toString(), "--out", merged.toString());
        if (Files.exists(merged)) {
            try (Stream<Path> s = Files.list(merged)) {
                assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".safetensors")), "no half-written checkpoint");
            }
        }
        rejected("adapter", "logits", "--model", good.toString(), "--adapter", adapter.toString(), "--ids", "1");
    }

    @Test
    void corruptTokenizerAndDatasetAreOneLineErrors() throws IOException {
        Files.writeString(good.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}}");
        rejected("tokenizer.json", "logits", "--model", good.toString(), "--text", "hello");
        Path data = tmp.resolve("sciq.jsonl");
        Files.writeString(data, "{\"question\": \"q\", \"distractor1\": 3}\nnot json\n");
        rejected("sciq.jsonl", "eval", "--model", good.toString(), "--task", "sciq", "--data", data.toString());
    }
}
