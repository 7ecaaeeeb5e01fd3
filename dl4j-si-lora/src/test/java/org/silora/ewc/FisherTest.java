package org.silora.ewc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.ReferenceForward;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-sample Fisher against central finite differences of each sample's loss in double precision. */
class FisherTest {

    @TempDir
    Path tmp;

    /** Mean next-token NLL of one row, by the independent double-precision forward. */
    static double sampleLoss(LlamaConfig cfg, Map<String, INDArray> w, int[] row) {
        double[][] logits = new ReferenceForward(cfg, w).logits(java.util.Arrays.copyOf(row, row.length - 1));
        double nll = 0;
        for (int k = 0; k < logits.length; k++) {
            double max = Double.NEGATIVE_INFINITY;
            for (double v : logits[k]) max = Math.max(max, v);
            double z = 0;
            for (double v : logits[k]) z += Math.exp(v - max);
            nll -= logits[k][row[k + 1]] - max - Math.log(z);
        }
        return nll / logits.length;
    }

    @Test
    void perSampleFisherMatchesFiniteDifferences() {
        LlamaConfig cfg = TinyModels.llamaGqa();
        Map<String, INDArray> w = TinyModels.randomWeights(cfg, 5);
        Random rnd = new Random(3);
        List<int[]> samples = List.of(TinyModels.randomIds(rnd, cfg.vocabSize(), 6), TinyModels.randomIds(rnd, cfg.vocabSize(), 9),
                TinyModels.randomIds(rnd, cfg.vocabSize(), 4));
        FisherEstimator est = FisherEstimator.of(cfg, Weights.of(w));
        assertEquals(2 * 7, est.modules().size());
        assertFalse(est.modules().contains("lm_head"));
        FisherInformation f = est.compute(samples, 2, FisherEstimator.Progress.NONE);   // a padded batch and a single
        FisherInformation f1 = est.compute(samples, 1, FisherEstimator.Progress.NONE);

        String[] modules = {"model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.o_proj", "model.layers.0.mlp.down_proj",
                "model.layers.1.mlp.gate_proj", "model.layers.0.self_attn.v_proj"};
        double eps = 1e-4;
        for (String m : modules) {
            INDArray fm = f.modules().get(m);
            for (int e = 0; e < 3; e++) {
                int i = rnd.nextInt((int) fm.size(0));
                int j = rnd.nextInt((int) fm.size(1));
                double sumSq = 0;
                for (int[] s : samples) {
                    double[] l = new double[2];
                    for (int sign = 0; sign < 2; sign++) {
                        Map<String, INDArray> p = new LinkedHashMap<>(w);
                        INDArray wm = w.get(m + ".weight").castTo(DataType.DOUBLE).dup();
                        wm.putScalar(i, j, wm.getDouble(i, j) + (sign == 0 ? eps : -eps));
                        p.put(m + ".weight", wm);
                        l[sign] = sampleLoss(cfg, p, s);
                    }
                    double g = (l[0] - l[1]) / (2 * eps);
                    sumSq += g * g;
                }
                double expected = sumSq / samples.size();
                double actual = fm.getDouble(i, j);
                assertEquals(expected, actual, 2e-3 * expected + 1e-7, m + "[" + i + "," + j + "]");
                assertEquals(actual, f1.modules().get(m).getDouble(i, j), 1e-4 * actual + 1e-9, "batching changes nothing");
            }
        }
    }

    @Test
    void fileRoundTripAndChecks() throws Exception {
        LlamaConfig cfg = TinyModels.llamaGqa();
        Map<String, INDArray> w = TinyModels.randomWeights(cfg, 5);
        Path model = tmp.resolve("model");
        TinyModels.write(model, cfg, w, DType.F32, 1);
        FisherEstimator est = FisherEstimator.of(model);
        FisherInformation f = est.compute(List.of(new int[]{1, 2, 3, 4}, new int[]{5, 6, 7}), 2, FisherEstimator.Progress.NONE);
        Map<String, String> meta = new LinkedHashMap<>(f.metadata());
        meta.put("base_model_fingerprint", "sha256:abc");
        FisherInformation withMeta = new FisherInformation(f.modules(), meta);
        Path file = tmp.resolve("fisher.safetensors");
        long bytes = withMeta.save(file, DType.F32);
        assertTrue(bytes > withMeta.valueBytes(DType.F32));
        FisherInformation back = FisherInformation.load(file);
        assertEquals(f.modules().keySet(), back.modules().keySet());
        for (String k : f.modules().keySet()) assertEquals(f.modules().get(k), back.modules().get(k));
        assertEquals("2", back.metadata().get("samples"));
        assertTrue(withMeta.save(tmp.resolve("f16.safetensors"), DType.BF16) < bytes);

        LoraModel lora = LoraModel.create(model, LoraConfig.builder().r(2).build(), 1);
        back.checkFits(lora, "sha256:abc", file);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> back.checkFits(lora, "sha256:other", file));
        assertTrue(e.getMessage().startsWith(file + ": was computed on another base model"), e.getMessage());
        // the EWC-LoRA penalty's value: λ·Σ_modules Σ F ⊙ D², D = s·B·A, against a plain double sum (B made non-zero)
        java.util.Random rnd = new java.util.Random(4);
        for (org.silora.lora.LoraModule m : lora.modules().values()) {
            INDArray b = m.b().getArr();
            for (long i = 0; i < b.length(); i++) b.putScalar(i, rnd.nextGaussian() * 0.1);
        }
        double expected = 0;
        for (org.silora.lora.LoraModule m : lora.modules().values()) {
            INDArray fm = back.modules().get(m.name());
            assertTrue(fm != null, "no Fisher for " + m.name());
            INDArray a = m.a().getArr();
            INDArray b = m.b().getArr();
            for (int i = 0; i < b.size(0); i++) {
                for (int j = 0; j < a.size(1); j++) {
                    double d = 0;
                    for (int k = 0; k < a.size(0); k++) d += b.getDouble(i, k) * a.getDouble(k, j);
                    d *= m.scaling();
                    expected += fm.getDouble(i, j) * d * d;
                }
            }
        }
        expected *= 0.5;
        org.silora.lora.Penalty pen = back.penalty(lora, 0.5);
        Map<String, INDArray> grads = new LinkedHashMap<>();
        for (org.silora.lora.LoraModule m : lora.modules().values()) {
            grads.put(m.a().name(), m.a().getArr().like());
            grads.put(m.b().name(), m.b().getArr().like());
        }
        double value = pen.addGradients(grads);
        assertTrue(expected > 0, "no penalty to compare");
        assertEquals(expected, value, 1e-4 * expected, "EWC-LoRA penalty value");
        assertThrows(ModelFormatException.class, () -> FisherInformation.load(model.resolve("model.safetensors")));
    }
}
