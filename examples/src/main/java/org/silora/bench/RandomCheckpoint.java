package org.silora.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.GaussianDistribution;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.demo.ShippedModels;
import org.silora.hf.AtomicFiles;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint of random weights under a public {@code config.json} (the ones shipped in {@code silora/configs/}),
 * written with the project's own safetensors writer one tensor at a time, so a 6 B-parameter checkpoint needs one
 * tensor's memory, not the model's. Weights follow Hugging Face's initialisation (linear and embedding weights
 * N(0, 0.02), norm weights 1, biases 0); the numbers mean nothing, the sizes are the real ones. The tokenizer is
 * the shipped tiny model's of the same family, so text commands work too.
 *
 * <pre>{@code
 * Path dir = RandomCheckpoint.write("llama-3.2-1b", DType.BF16, 7, Path.of("scale/llama-3.2-1b"));
 * }</pre>
 */
public final class RandomCheckpoint {

    /** The public configurations shipped in {@code silora/configs/}. */
    public static final List<String> SHIPPED = List.of("llama-3.2-1b", "llama-3.2-3b", "llama-3-8b", "gpt-j-6b");

    private RandomCheckpoint() {
    }

    /** The text of a shipped configuration, e.g. {@code "gpt-j-6b"}. */
    public static String config(String name) {
        if (!SHIPPED.contains(name)) {
            throw new IllegalArgumentException("no shipped configuration '" + name + "' (have " + String.join(", ", SHIPPED) + ")");
        }
        try (InputStream in = RandomCheckpoint.class.getResourceAsStream("/silora/configs/" + name + ".json")) {
            if (in == null) throw new IllegalStateException("configuration " + name + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes {@code config.json} (the shipped text of {@code name}) and {@code model.safetensors} ({@code dtype}) into
     * {@code dir}; an existing checkpoint written with the same name, dtype and seed is kept as it is.
     */
    public static Path write(String name, DType dtype, long seed, Path dir) throws IOException {
        Files.createDirectories(dir);
        String text = config(name);
        String stamp = name + " " + dtype + " seed " + seed;
        Path weights = dir.resolve("model.safetensors");
        Path marker = dir.resolve("random-weights.txt");
        AtomicFiles.writeString(dir.resolve("config.json"), text);
        ModelConfig cfg = ModelConfigs.load(dir);
        // a real tokenizer, so that --text and --data work: the shipped tiny model's of the same family (its ids are
        // a prefix of the vocabulary)
        Path tok = ShippedModels.extract(cfg instanceof org.silora.hf.config.GptjConfig ? "tiny-gptj" : "tiny-llama",
                dir.resolve(".shipped"));
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
            if (Files.exists(tok.resolve(f))) Files.copy(tok.resolve(f), dir.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (Files.exists(weights) && Files.exists(marker) && Files.readString(marker).strip().equals(stamp)) return dir;
        Files.deleteIfExists(marker);
        writeWeights(cfg, dtype, seed, weights, Map.of("format", "pt", "silora.random_weights", stamp));
        AtomicFiles.writeString(marker, stamp + "\n");
        return dir;
    }

    /** Writes random weights for {@code cfg} into one safetensors file. */
    public static void writeWeights(ModelConfig cfg, DType dtype, long seed, Path file, Map<String, String> metadata) {
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        INDArray[] previous = new INDArray[1];   // the writer asks for tensors in order: the last one is done with
        for (Map.Entry<String, long[]> e : CausalLm.tensorShapes(cfg).entrySet()) {
            String n = e.getKey();
            long[] shape = e.getValue();
            entries.add(new SafetensorsWriter.Entry(n, dtype, shape, () -> {
                if (previous[0] != null && previous[0].closeable()) previous[0].close();
                INDArray x;
                if (shape.length == 1) {
                    x = n.endsWith(".bias") ? Nd4j.zeros(DataType.FLOAT, shape) : Nd4j.ones(DataType.FLOAT, shape);
                } else {
                    x = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
                    Nd4j.getExecutioner().exec(new GaussianDistribution(x, 0.0, 0.02), rng);
                }
                previous[0] = x;
                return x;
            }));
        }
        try {
            SafetensorsWriter.write(file, new LinkedHashMap<>(metadata), entries);
        } finally {
            if (previous[0] != null && previous[0].closeable()) previous[0].close();
        }
    }
}
