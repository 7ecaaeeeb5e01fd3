package org.silora.si;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SiRecorderTest {

    private static LoraModel model(ModelConfig cfg) {
        return LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 21)),
                LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "up_proj").build(), 5);
    }

    /** SI's path-integral identity: with one batch and small steps, Σω equals the loss drop. */
    @Test
    void omegaSumMatchesLossDropInExactMode() {
        ModelConfig cfg = TinyModels.llamaGqa();
        LoraModel model = model(cfg);
        List<int[]> rows = SiTestData.chain(cfg.vocabSize(), 4, 24, 7, 3, 1);
        LoraTrainer trainer = new LoraTrainer(model, TrainingOptions.builder().batchSize(4).epochs(40).learningRate(1e-3).build());
        SiRecorder si = SiRecorder.builder(model).mode(SiMode.EXACT).build();
        trainer.addListener(si);
        double before = trainer.meanLoss(rows);
        trainer.train(rows, LoraTrainer.Progress.NONE);
        double drop = before - trainer.meanLoss(rows);
        System.err.printf("EXACT mode: loss drop %.5f, omega sum %.5f%n", drop, si.omegaSum());
        assertTrue(drop > 0.05, "training lowered the loss: " + drop);
        assertEquals(drop, si.omegaSum(), 0.03 * drop, "Σω vs L(t0) − L(tν)");
    }

    /** EXACT mode sums δᵀ·x over micro-batches: 2 × 2 rows with accumulation give the ω of one batch of 4 rows. */
    @Test
    void exactModeWithGradientAccumulationEqualsOneBigBatch() {
        ModelConfig cfg = TinyModels.llamaGqa();
        List<int[]> rows = SiTestData.chain(cfg.vocabSize(), 4, 16, 7, 3, 1);
        float[][] omega = new float[2][];
        for (int k = 0; k < 2; k++) {
            LoraModel model = model(cfg);
            TrainingOptions o = k == 0 ? TrainingOptions.builder().batchSize(4).epochs(3).learningRate(1e-3).build()
                    : TrainingOptions.builder().batchSize(2).gradientAccumulation(2).epochs(3).learningRate(1e-3).build();
            LoraTrainer trainer = new LoraTrainer(model, o);
            SiRecorder si = SiRecorder.builder(model).mode(SiMode.EXACT).build();
            trainer.addListener(si);
            trainer.train(rows, LoraTrainer.Progress.NONE);
            omega[k] = si.omega("model.layers.0.self_attn.q_proj").dup().data().asFloat();
            model.lm().close();
        }
        double num = 0, den = 0;
        for (int i = 0; i < omega[0].length; i++) {
            num += Math.abs(omega[0][i] - omega[1][i]);
            den += Math.abs(omega[0][i]);
        }
        assertTrue(den > 0, "ω recorded");
        assertTrue(num / den < 1e-3, "relative L1 difference of ω: " + num / den);
    }

    @Test
    void paperAndExactAgreeInSignAndOrdering() {
        ModelConfig cfg = TinyModels.llamaGqa();
        List<int[]> rows = SiTestData.chain(cfg.vocabSize(), 8, 20, 5, 2, 2);
        Map<String, Double> sums[] = new Map[2];
        Importance[] imps = new Importance[2];
        SiMode[] modes = {SiMode.PAPER, SiMode.EXACT};
        for (int k = 0; k < 2; k++) {
            LoraModel model = model(cfg);
            LoraTrainer trainer = new LoraTrainer(model, TrainingOptions.builder().batchSize(4).epochs(6).learningRate(2e-3).build());
            SiRecorder si = SiRecorder.builder(model).mode(modes[k]).build();
            trainer.addListener(si);
            trainer.train(rows, LoraTrainer.Progress.NONE);
            sums[k] = new java.util.LinkedHashMap<>();
            for (String m : model.modules().keySet()) sums[k].put(m, si.omega(m).sumNumber().doubleValue());
            assertTrue(si.omegaSum() > 0, modes[k] + " Σω positive while the loss falls: " + si.omegaSum());
            imps[k] = si.consolidate(LayerWeighting.AUTO, Map.of());
        }
        // per module: same sign of Σω; and the modules rank the same way by importance norm
        for (String m : sums[0].keySet()) {
            assertEquals(Math.signum(sums[0].get(m)), Math.signum(sums[1].get(m)), m + ": " + sums[0].get(m) + " vs " + sums[1].get(m));
        }
        double rho = spearman(imps[0].norms().values().stream().mapToDouble(Double::doubleValue).toArray(),
                imps[1].norms().values().stream().mapToDouble(Double::doubleValue).toArray());
        System.err.printf("PAPER vs EXACT: Spearman of module norms %.3f%n", rho);
        assertTrue(rho > 0.6, "rank correlation of ‖Ω_l‖ between PAPER and EXACT: " + rho);
        // element-wise: Ω of the two modes correlate positively within each module
        for (String m : imps[0].modules().keySet()) {
            INDArray a = imps[0].modules().get(m).omega();
            INDArray b = imps[1].modules().get(m).omega();
            double r = pearson(a.data().asDouble(), b.data().asDouble());
            assertTrue(r > 0.2, m + ": element-wise correlation of Ω between modes " + r);
        }
    }

    static double spearman(double[] x, double[] y) {
        return pearson(ranks(x), ranks(y));
    }

    private static double[] ranks(double[] x) {
        Integer[] idx = new Integer[x.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        java.util.Arrays.sort(idx, (p, q) -> Double.compare(x[p], x[q]));
        double[] r = new double[x.length];
        for (int i = 0; i < idx.length; i++) r[idx[i]] = i;
        return r;
    }

    static double pearson(double[] x, double[] y) {
        double mx = 0, my = 0;
        for (int i = 0; i < x.length; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= x.length;
        my /= y.length;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }
}
