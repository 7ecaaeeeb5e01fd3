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

    /**
     * The AUTHORS recipe against a plain-Java double reference of its bookkeeping: ω clamped at 0 after every step,
     * Ω += ω/(Δ_epoch² + 1e-9) at each epoch's end with ω reset and Δ restarted; λ = softmax(1e-8·‖Ω_l‖).
     */
    @Test
    void authorsRecipeAccumulatesClampedOmegaPerEpoch() {
        ModelConfig cfg = TinyModels.llamaGqa();
        LoraModel model = model(cfg);
        String name = "model.layers.1.self_attn.v_proj";
        org.silora.lora.LoraModule mod = model.modules().get(name);
        List<int[]> rows = SiTestData.chain(cfg.vocabSize(), 8, 20, 5, 2, 2);
        LoraTrainer trainer = new LoraTrainer(model, TrainingOptions.builder().batchSize(4).epochs(3).learningRate(2e-3).build());
        SiRecorder si = SiRecorder.builder(model).recipe(SiRecipe.AUTHORS).build();
        assertEquals(1e-9, si.xi());
        int n = (int) (mod.base().out() * mod.base().in());
        double[] omega = new double[n];
        double[] big = new double[n];
        double[][] start = {delta(mod)};
        int[] epochs = {0};
        trainer.addListener(si);
        trainer.addListener(new org.silora.lora.StepListener() {
            double[] before;
            INDArray g;

            @Override
            public void beforeUpdate(StepContext ctx) {
                before = delta(mod);
                g = SiMath.paperGradient(mod.a().getArr().dup(), mod.b().getArr().dup(), ctx.taskGradients().get(mod.a().name()).dup(),
                        ctx.taskGradients().get(mod.b().name()).dup(), ctx.learningRate(),
                        org.nd4j.linalg.factory.Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT, mod.base().out(), mod.base().in()));
            }

            @Override
            public void afterStep(StepContext ctx) {
                double[] after = delta(mod);
                double[] gv = g.dup('c').data().asDouble();
                for (int i = 0; i < n; i++) omega[i] = Math.max(0, omega[i] - gv[i] * (after[i] - before[i]));
            }

            @Override
            public void epochEnd(int epoch) {
                double[] now = delta(mod);
                for (int i = 0; i < n; i++) {
                    double d = now[i] - start[0][i];
                    big[i] += omega[i] / (d * d + 1e-9);
                    omega[i] = 0;
                }
                start[0] = now;
                epochs[0]++;
            }
        });
        trainer.train(rows, LoraTrainer.Progress.NONE);
        assertEquals(3, epochs[0]);
        for (String m : model.modules().keySet()) assertEquals(0.0, si.omega(m).minNumber().doubleValue(), "ω reset after the last epoch");
        Importance imp = si.consolidate(SiRecipe.AUTHORS.weighting(LayerWeighting.AUTO), Map.of());
        assertEquals("authors", imp.metadata().get("recipe"));
        assertEquals("3", imp.metadata().get("epochs_accumulated"));
        double[] got = imp.modules().get(name).omega().dup('c').data().asDouble();
        double num = 0, den = 0;
        for (int i = 0; i < n; i++) {
            num += Math.abs(got[i] - big[i]);
            den += Math.abs(big[i]);
        }
        assertTrue(den > 0, "Ω recorded");
        assertTrue(num / den < 1e-3, "relative L1 difference of Ω against the double reference: " + num / den);
        // λ = softmax(1e-8·‖Ω_l‖)
        double[] norms = imp.norms().values().stream().mapToDouble(Double::doubleValue).toArray();
        double max = java.util.Arrays.stream(norms).map(v -> 1e-8 * v).max().orElseThrow();
        double z = java.util.Arrays.stream(norms).map(v -> Math.exp(1e-8 * v - max)).sum();
        int k = 0;
        for (double lam : imp.lambdas().values()) {
            assertEquals(Math.exp(1e-8 * norms[k++] - max) / z, lam, 1e-9);
        }
    }

    /** s·B·A of a module in doubles, row-major [out, in]. */
    private static double[] delta(org.silora.lora.LoraModule m) {
        return m.b().getArr().mmul(m.a().getArr()).muli(m.scaling()).dup('c').data().asDouble();
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
