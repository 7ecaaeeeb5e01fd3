package org.silora.si;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PenaltyTest {

    @TempDir
    Path tmp;

    private static final ModelConfig CFG = TinyModels.llamaGqa();
    private static final Map<String, INDArray> BASE = TinyModels.randomWeights(CFG, 31);

    private static LoraModel fresh() {
        return LoraModel.create(CFG, Weights.of(BASE), LoraConfig.builder().r(4).loraAlpha(8).build(), 5);
    }

    /** Phase ν on one chain, returning the model and its importance. */
    private static Object[] phaseNu() {
        LoraModel model = fresh();
        LoraTrainer t = new LoraTrainer(model, TrainingOptions.builder().batchSize(4).epochs(8).learningRate(3e-3).build());
        SiRecorder si = SiRecorder.builder(model).build();
        t.addListener(si);
        t.train(SiTestData.chain(CFG.vocabSize(), 8, 20, 7, 3, 1), LoraTrainer.Progress.NONE);
        return new Object[]{model, si.consolidate(LayerWeighting.AUTO, Map.of("base_model", "tiny"))};
    }

    @Test
    void penaltyValueAndGradientMatchPlainJavaAndFiniteDifferences() {
        Object[] nu = phaseNu();
        LoraModel model = (LoraModel) nu[0];
        Importance imp = (Importance) nu[1];
        // move away from the anchor so the penalty is not zero
        Random rnd = new Random(4);
        for (LoraModule m : model.modules().values()) {
            INDArray b = m.b().getArr();
            for (long i = 0; i < b.length(); i++) b.putScalar(i, b.getDouble(i) + 0.05 * rnd.nextGaussian());
        }
        double phi = 0.7;
        QuadraticPenalty pen = QuadraticPenalty.si(model, imp, phi);
        double java = reference(model, imp, phi);
        assertTrue(java > 0);
        assertEquals(java, pen.value(), 1e-4 * java);

        Map<String, INDArray> grads = new java.util.HashMap<>();
        for (LoraModule m : model.modules().values()) {
            grads.put(m.a().name(), m.a().getArr().ulike().assign(0));
            grads.put(m.b().name(), m.b().getArr().ulike().assign(0));
        }
        assertEquals(pen.value(), pen.addGradients(grads), 0.0);
        // central differences of the double-precision reference, every element of one module's A and B
        double eps = 1e-3;
        LoraModule m0 = model.modules().values().iterator().next();
        for (String v : List.of(m0.a().name(), m0.b().name())) {
            INDArray p = model.sameDiff().getArrForVarName(v);
            for (long idx = 0; idx < p.length(); idx++) {
                double orig = p.getDouble(idx);
                p.putScalar(idx, orig + eps);
                double plus = reference(model, imp, phi);
                p.putScalar(idx, orig - eps);
                double minus = reference(model, imp, phi);
                p.putScalar(idx, orig);
                double fd = (plus - minus) / (2 * eps);
                double an = grads.get(v).getDouble(idx);
                assertEquals(fd, an, 2e-3 * Math.abs(fd) + 1e-6 * java, v + "[" + idx + "]");
            }
        }
    }

    /** φ·Σ_l λ_l Σ Ω (s·B·A − s·B^ν·A^ν)² in double precision. */
    private static double reference(LoraModel model, Importance imp, double phi) {
        double total = 0;
        for (LoraModule m : model.modules().values()) {
            Importance.ModuleImportance mi = imp.modules().get(m.name());
            double[][] a = m.a().getArr().toDoubleMatrix();
            double[][] b = m.b().getArr().toDoubleMatrix();
            double[][] aa = mi.anchorA().toDoubleMatrix();
            double[][] ab = mi.anchorB().toDoubleMatrix();
            double[][] om = mi.omega().toDoubleMatrix();
            double sum = 0;
            for (int i = 0; i < om.length; i++) {
                for (int j = 0; j < om[0].length; j++) {
                    double d = 0;
                    for (int k = 0; k < a.length; k++) d += m.scaling() * b[i][k] * a[k][j] - mi.scaling() * ab[i][k] * aa[k][j];
                    sum += om[i][j] * d * d;
                }
            }
            total += mi.lambda() * sum;
        }
        return phi * total;
    }

    /** With a very large φ the μ-trained weights stay at the ν anchor; LoRA(ν+μ) (φ = 0) drifts. */
    @Test
    void largePhiHoldsTheAnchorWhilePlainLoraDrifts() {
        double[] drift = new double[2];
        double[] phis = {0.0, 1e4};
        for (int k = 0; k < 2; k++) {
            Object[] nu = phaseNu();
            LoraModel model = (LoraModel) nu[0];
            Importance imp = (Importance) nu[1];
            LoraTrainer mu = new LoraTrainer(model, TrainingOptions.builder().batchSize(4).epochs(8).learningRate(3e-3).build());
            if (phis[k] > 0) mu.setPenalty(QuadraticPenalty.si(model, imp, phis[k]));
            mu.train(SiTestData.chain(CFG.vocabSize(), 8, 20, 11, 5, 2), LoraTrainer.Progress.NONE);
            double weighted = 0;
            for (LoraModule m : model.modules().values()) {
                Importance.ModuleImportance mi = imp.modules().get(m.name());
                weighted += SiMath.quadraticPenalty(mi.omega(), m.delta(), mi.anchorDelta());
            }
            drift[k] = weighted;
        }
        System.err.printf("Ω-weighted drift from the ν anchor: LoRA(ν+μ) %.4g, SI φ=1e4 %.4g%n", drift[0], drift[1]);
        assertTrue(drift[1] < 0.05 * drift[0], "SI drift " + drift[1] + " vs plain " + drift[0]);
    }

    @Test
    void importanceFileRoundTripsAndRefusesAnotherModel() {
        Object[] nu = phaseNu();
        LoraModel model = (LoraModel) nu[0];
        Importance imp = (Importance) nu[1];
        Path f = tmp.resolve("importance.safetensors");
        imp.save(f, DType.F32);
        Importance back = Importance.load(f);
        assertEquals(imp.modules().keySet(), back.modules().keySet());
        for (String m : imp.modules().keySet()) {
            assertEquals(0.0, imp.modules().get(m).omega().sub(back.modules().get(m).omega()).amaxNumber().doubleValue(), 0.0);
            assertEquals(imp.modules().get(m).lambda(), back.modules().get(m).lambda(), 1e-7);
            assertEquals(0.0, imp.modules().get(m).anchorDelta().sub(back.modules().get(m).anchorDelta()).amaxNumber().doubleValue(), 1e-7);
        }
        assertEquals("tiny", back.metadata().get("base_model"));
        assertEquals("PAPER", back.metadata().get("mode"));
        back.checkFits(model, null, f);

        imp.save(tmp.resolve("bf16.safetensors"), DType.BF16);
        assertTrue(tmp.resolve("bf16.safetensors").toFile().length() < f.toFile().length());

        LoraModel other = LoraModel.create(CFG, Weights.of(BASE), LoraConfig.builder().r(4).targetModules("k_proj").build(), 5);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> back.checkFits(other, null, f));
        assertTrue(e.getMessage().contains("covers modules"), e.getMessage());
        Importance fingerprinted = Importance.of(imp.modules(), LayerWeighting.AUTO, Map.of("base_model_fingerprint", "sha256:aaa"));
        e = assertThrows(ModelFormatException.class, () -> fingerprinted.checkFits(model, "sha256:bbb", f));
        assertTrue(e.getMessage().contains("another base model"), e.getMessage());
    }
}
