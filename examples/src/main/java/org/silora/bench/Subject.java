package org.silora.bench;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.demo.Pretraining;
import org.silora.demo.ShippedModels;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.config.RopeScaling;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A model the bench trains: the shipped tiny LLaMA (from its folder), or a synthetic one from random weights
 * (Hugging Face's initialisation; its speed does not depend on the values).
 *
 * <pre>{@code
 * Subject tiny = Subject.tiny(work);
 * List<int[]> rows = tiny.rows(64, 128, 3);
 * }</pre>
 *
 * @param name    how the JSON names it ({@code model})
 * @param config  its configuration
 * @param weights its weights when synthetic, else {@code null}
 * @param dir     its folder when loaded from one, else {@code null}
 */
record Subject(String name, ModelConfig config, Map<String, INDArray> weights, Path dir) {

    Subject {
        if ((weights == null) == (dir == null)) throw new IllegalArgumentException("a subject has either weights or a folder: " + name);
    }

    /** The headline model: LLaMA-shaped, d 512 × 8 layers, MLP 1376, 8 heads of 64, vocabulary 4096. */
    static LlamaConfig largeConfig() {
        return new LlamaConfig(4096, 512, 1376, 8, 8, 8, 64, 1e-5, 10000.0, null, 2048, false, false, false);
    }

    /** The shipped tiny LLaMA (d 192 × 4 layers), extracted under {@code work/models}. */
    static Subject tiny(Path work) throws IOException {
        Path dir = ShippedModels.extract("tiny-llama", work.resolve("models"));
        return new Subject("tiny-llama (shipped)", ModelConfigs.load(dir), null, dir);
    }

    /** The synthetic {@link #largeConfig()} model. */
    static Subject large() {
        LlamaConfig big = largeConfig();
        return new Subject("synthetic LLaMA d512 x 8 layers", big, Pretraining.initialWeights(big, 1), null);
    }

    /** Two layers of LLaMA-3.2-1B's shape (hidden 2048, MLP 8192, 32 query and 8 key/value heads), vocabulary 4096. */
    static Subject oneBLayers() {
        LlamaConfig c = new LlamaConfig(4096, 2048, 8192, 2, 32, 8, 64, 1e-5, 500000.0, RopeScaling.NONE, 4096, true, false, false);
        return new Subject("2 layers of LLaMA-3.2-1B's shape", c, Pretraining.initialWeights(c, 1), null);
    }

    /** {@code n} rows of {@code len} uniformly random tokens of this model's vocabulary, reproducible from {@code seed}. */
    List<int[]> rows(int n, int len, long seed) {
        return syntheticRows(config.vocabSize(), n, len, seed);
    }

    static List<int[]> syntheticRows(int vocab, int n, int len, long seed) {
        Random rnd = new Random(seed);
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] r = new int[len];
            for (int j = 0; j < len; j++) r[j] = rnd.nextInt(vocab);
            rows.add(r);
        }
        return rows;
    }
}
