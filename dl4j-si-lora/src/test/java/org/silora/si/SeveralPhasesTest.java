package org.silora.si;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.LoraTrainer;
import org.silora.lora.StepListener;
import org.silora.lora.TrainingOptions;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several general phases add up (SPEC §2): Ω ← Ω + new Ω, each phase's Ω = max(0, ω)/(Δ² + ξ) with ω and Δ of that
 * phase only, the anchor the latest weights. Checked against a plain-Java double reference of the PAPER-mode
 * bookkeeping, for the ways to continue: one recorder consolidated after each phase, and a new recorder given the
 * first phase's importance with {@link SiRecorder.Builder#previous}, in memory or read back from its file.
 */
class SeveralPhasesTest {

    private static final double XI = 1e-7;

    @TempDir
    Path tmp;

    /** The SPEC bookkeeping in doubles for every module: ω per step from Eq. 13's g̃, Ω summed at each phase end. */
    private static final class Reference implements StepListener {
        final LoraModel model;
        final Map<String, double[]> omega = new LinkedHashMap<>();
        final Map<String, double[]> start = new LinkedHashMap<>();
        final Map<String, double[]> total = new LinkedHashMap<>();    // Σ over ended phases of Ω
        final Map<String, double[]> lastPhase = new LinkedHashMap<>();
        final Map<String, double[]> before = new LinkedHashMap<>();
        final Map<String, double[]> gTilde = new LinkedHashMap<>();

        Reference(LoraModel model) {
            this.model = model;
            for (LoraModule m : model.modules().values()) {
                int n = (int) (m.base().out() * m.base().in());
                omega.put(m.name(), new double[n]);
                total.put(m.name(), new double[n]);
                start.put(m.name(), delta(m));
            }
        }

        /** D = s·B·A in doubles, row-major {@code [out, in]}. */
        static double[] delta(LoraModule m) {
            return product(m.b().getArr(), m.a().getArr(), m.scaling());
        }

        /** {@code c·X·Y} in doubles, row-major. */
        static double[] product(INDArray x, INDArray y, double c) {
            int rows = (int) x.size(0), inner = (int) x.size(1), cols = (int) y.size(1);
            double[] xv = x.dup('c').data().asDouble();
            double[] yv = y.dup('c').data().asDouble();
            double[] out = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int k = 0; k < inner; k++) {
                    double a = c * xv[i * inner + k];
                    for (int j = 0; j < cols; j++) out[i * cols + j] += a * yv[k * cols + j];
                }
            }
            return out;
        }

        @Override
        public void beforeUpdate(StepContext ctx) {
            for (LoraModule m : model.modules().values()) {
                INDArray gA = ctx.taskGradients().get(m.a().name());
                INDArray gB = ctx.taskGradients().get(m.b().name());
                double[] g = product(gB, m.a().getArr(), 1);                      // g_B·A
                double[] bgA = product(m.b().getArr(), gA, 1);                   // B·g_A
                double[] gBgA = product(gB, gA, ctx.learningRate());             // η·g_B·g_A
                for (int i = 0; i < g.length; i++) g[i] += bgA[i] - gBgA[i];
                gTilde.put(m.name(), g);
                before.put(m.name(), delta(m));
            }
        }

        @Override
        public void afterStep(StepContext ctx) {
            for (LoraModule m : model.modules().values()) {
                double[] after = delta(m);
                double[] b = before.get(m.name());
                double[] g = gTilde.get(m.name());
                double[] w = omega.get(m.name());
                for (int i = 0; i < w.length; i++) w[i] -= g[i] * (after[i] - b[i]);
            }
        }

        /** Ends a phase: this phase's Ω is added to the total; ω reset, Δ restarted here. */
        void endPhase() {
            for (LoraModule m : model.modules().values()) {
                double[] now = delta(m);
                double[] s = start.get(m.name());
                double[] w = omega.get(m.name());
                double[] phase = new double[w.length];
                for (int i = 0; i < w.length; i++) {
                    double d = now[i] - s[i];
                    phase[i] = Math.max(0, w[i]) / (d * d + XI);
                    total.get(m.name())[i] += phase[i];
                    w[i] = 0;
                }
                lastPhase.put(m.name(), phase);
                start.put(m.name(), now);
            }
        }
    }

    private static double relativeL1(double[] got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            num += Math.abs(got[i] - want[i]);
            den += Math.abs(want[i]);
        }
        assertTrue(den > 0, "a reference of zeros proves nothing");
        return num / den;
    }

    private static double[] flat(INDArray a) {
        return a.dup('c').data().asDouble();
    }

    @Test
    void omegaOfSeveralPhasesAddsUpWithTheLatestAnchor() {
        ModelConfig cfg = TinyModels.llamaGqa();
        LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 21)),
                LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "up_proj").build(), 5);
        List<int[]> phase1 = SiTestData.chain(cfg.vocabSize(), 8, 20, 5, 2, 2);
        List<int[]> phase2 = SiTestData.chain(cfg.vocabSize(), 8, 20, 7, 3, 9);   // other general text
        TrainingOptions opts = TrainingOptions.builder().batchSize(4).epochs(3).learningRate(2e-3).build();

        Reference ref = new Reference(model);
        SiRecorder continued = SiRecorder.builder(model).xi(XI).build();
        LoraTrainer first = new LoraTrainer(model, opts);
        first.addListener(continued);
        first.addListener(ref);
        int steps1 = first.train(phase1, LoraTrainer.Progress.NONE).steps();
        ref.endPhase();
        Importance imp1 = continued.consolidate(LayerWeighting.AUTO, Map.of());

        SiRecorder fresh = SiRecorder.builder(model).xi(XI).previous(imp1).build();
        // as a user continues in a later run: the first phase's importance file, F32
        Path file = tmp.resolve("importance.safetensors");
        imp1.save(file, DType.F32);
        SiRecorder fromFile = SiRecorder.builder(model).xi(XI).previous(Importance.load(file)).build();
        LoraTrainer second = new LoraTrainer(model, opts);
        second.addListener(continued);
        second.addListener(fresh);
        second.addListener(fromFile);
        second.addListener(ref);
        int steps2 = second.train(phase2, LoraTrainer.Progress.NONE).steps();
        ref.endPhase();
        Importance viaPrevious = fresh.consolidate(LayerWeighting.AUTO, Map.of());
        Importance viaContinued = continued.consolidate(LayerWeighting.AUTO, Map.of());
        Importance viaFile = fromFile.consolidate(LayerWeighting.AUTO, Map.of());

        for (Importance imp : new Importance[]{viaPrevious, viaContinued, viaFile}) {
            assertEquals(Integer.toString(steps1 + steps2), imp.metadata().get("steps"), "steps of both phases");
            for (LoraModule m : model.modules().values()) {
                Importance.ModuleImportance mi = imp.modules().get(m.name());
                double err = relativeL1(flat(mi.omega()), ref.total.get(m.name()));
                // float32 bookkeeping over a dozen steps against doubles: a relative error of order 1e-6
                assertTrue(err < 1e-4, m.name() + ": Ω vs Ω1 + Ω2 of the double reference, relative L1 " + err);
                // the second phase's share is far above that tolerance: an Ω that ignored a phase would fail
                double[] second2 = ref.lastPhase.get(m.name());
                double share = java.util.Arrays.stream(second2).sum() / java.util.Arrays.stream(ref.total.get(m.name())).sum();
                assertTrue(share > 0.05, m.name() + ": phase 2's share of Ω " + share);
                // anchor = the latest weights: the adapter at the end of phase 2
                assertArrayEquals(flat(m.a().getArr()), flat(mi.anchorA()), 0.0, m.name() + " anchor A");
                assertArrayEquals(flat(m.b().getArr()), flat(mi.anchorB()), 0.0, m.name() + " anchor B");
            }
            // λ comes from the summed Ω: softmax(‖Ω_l‖/τ), τ = the standard deviation of the norms (AUTO)
            List<String> names = List.copyOf(model.modules().keySet());
            double[] norms = new double[names.size()];
            for (int l = 0; l < norms.length; l++) {
                double s = 0;
                for (double v : ref.total.get(names.get(l))) s += v * v;
                norms[l] = Math.sqrt(s);
            }
            double mean = java.util.Arrays.stream(norms).average().orElseThrow();
            double tau = Math.sqrt(java.util.Arrays.stream(norms).map(v -> (v - mean) * (v - mean)).sum() / norms.length);
            double max = java.util.Arrays.stream(norms).max().orElseThrow();
            double z = java.util.Arrays.stream(norms).map(v -> Math.exp((v - max) / tau)).sum();
            for (int l = 0; l < norms.length; l++) {
                assertEquals(Math.exp((norms[l] - max) / tau) / z, imp.lambdas().get(names.get(l)), 1e-4, "λ of " + names.get(l));
            }
        }
    }
}
