package org.silora.hf.graph;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.model.CausalLm;
import org.silora.hf.testing.TinyModels;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Padded rows in a batch give the same logits at their real tokens as the sequence alone. */
class PaddingTest {

    @Test
    void leftAndRightPaddingDoNotChangeRealTokenLogits() {
        for (ModelConfig cfg : new ModelConfig[]{TinyModels.llamaGqa(), TinyModels.gptj()}) {
            CausalLm lm = CausalLm.build(cfg, Weights.of(TinyModels.randomWeights(cfg, 3)), LinearFactory.BASE);
            int[] seq = TinyModels.randomIds(new Random(11), cfg.vocabSize(), 9);
            INDArray alone = lm.logits(new int[][]{seq});
            int pad = 4;
            int[] right = new int[seq.length + pad];
            int[] left = new int[seq.length + pad];
            int[] rightMask = new int[right.length];
            int[] leftMask = new int[left.length];
            for (int i = 0; i < seq.length; i++) {
                right[i] = seq[i];
                rightMask[i] = 1;
                left[pad + i] = seq[i];
                leftMask[pad + i] = 1;
            }
            INDArray batch = lm.logits(new int[][]{right, left}, new int[][]{rightMask, leftMask});
            double worst = 0;
            for (int t = 0; t < seq.length; t++) {
                for (int v = 0; v < cfg.vocabSize(); v++) {
                    double a = alone.getDouble(0, t, v);
                    worst = Math.max(worst, Math.abs(a - batch.getDouble(0, t, v)));
                    worst = Math.max(worst, Math.abs(a - batch.getDouble(1, pad + t, v)));
                }
            }
            assertEquals(0.0, worst, 1e-5, cfg.architecture());
        }
    }
}
