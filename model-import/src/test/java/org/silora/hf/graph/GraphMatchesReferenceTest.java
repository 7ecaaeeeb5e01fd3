package org.silora.hf.graph;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.model.CausalLm;
import org.silora.hf.testing.ReferenceForward;
import org.silora.hf.testing.TinyModels;

import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The SameDiff graph's logits equal an independent double-precision forward within 1e-4 (float32 graph). */
class GraphMatchesReferenceTest {

    static Stream<ModelConfig> configs() {
        return Stream.of(TinyModels.llamaGqa(), TinyModels.llama3Tied(), TinyModels.llamaLinearBias(), TinyModels.gptj());
    }

    @ParameterizedTest
    @MethodSource("configs")
    void logitsMatchReferenceForward(ModelConfig cfg) {
        Map<String, INDArray> w = TinyModels.randomWeights(cfg, 42);
        CausalLm lm = CausalLm.build(cfg, Weights.of(w), LinearFactory.BASE);
        Random rnd = new Random(7);
        int[][] ids = {TinyModels.randomIds(rnd, cfg.vocabSize(), 40), TinyModels.randomIds(rnd, cfg.vocabSize(), 40)};
        INDArray logits = lm.logits(ids);
        assertEquals(3, logits.rank());
        ReferenceForward ref = new ReferenceForward(cfg, w);
        for (int b = 0; b < ids.length; b++) {
            double[][] expected = ref.logits(ids[b]);
            assertClose(expected, logits, b, 1e-4);
        }
    }

    static void assertClose(double[][] expected, INDArray logits, int row, double tol) {
        double worst = 0;
        for (int t = 0; t < expected.length; t++) {
            for (int v = 0; v < expected[t].length; v++) {
                worst = Math.max(worst, Math.abs(expected[t][v] - logits.getDouble(row, t, v)));
            }
        }
        assertEquals(0.0, worst, tol, "max |graph - reference| over row " + row);
    }
}
