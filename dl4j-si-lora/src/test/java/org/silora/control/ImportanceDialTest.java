package org.silora.control;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.hf.testing.TinyModels;
import org.silora.io.MergedCheckpoints;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.SiRecorder;
import org.silora.si.SiTestData;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The importance dial on a tiny LLaMA with a real ν phase (SI recorded) and a real μ phase continued from it. */
class ImportanceDialTest {

    @TempDir
    static Path tmp;

    private static final ModelConfig CFG = TinyModels.llamaGqa();
    private static Path base;
    private static Path mu;
    private static Importance importance;
    private static LoraConfig muConfig;
    private static Map<String, INDArray[]> muFactors;

    @BeforeAll
    static void phases() throws Exception {
        base = tmp.resolve("base");
        TinyModels.write(base, CFG, TinyModels.randomWeights(CFG, 41), DType.F32, 1);
        LoraModel nu = LoraModel.create(base, LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "o_proj").build(), 3);
        LoraTrainer t = new LoraTrainer(nu, TrainingOptions.builder().batchSize(4).epochs(4).learningRate(5e-3).build());
        SiRecorder si = SiRecorder.builder(nu).build();
        t.addListener(si);
        t.train(SiTestData.chain(CFG.vocabSize(), 8, 20, 7, 3, 1), LoraTrainer.Progress.NONE);
        importance = si.consolidate(LayerWeighting.parse("auto"), Map.of("base_model", "tiny"));
        Path nuDir = tmp.resolve("nu");
        PeftAdapters.save(nu, nuDir);
        LoraModel m = PeftAdapters.load(base, nuDir);
        new LoraTrainer(m, TrainingOptions.builder().batchSize(4).epochs(4).learningRate(5e-3).build())
                .train(SiTestData.chain(CFG.vocabSize(), 8, 20, 5, 11, 2), LoraTrainer.Progress.NONE);
        mu = tmp.resolve("mu");
        PeftAdapters.save(m, mu);
        muConfig = PeftAdapters.readConfig(mu);
        muFactors = PeftAdapters.readFactors(mu);
    }

    private static Map<String, INDArray> read(Path dir) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            for (String n : c.names()) out.put(n, c.readFloat(n).dup());
        }
        return out;
    }

    private static float[] floats(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    @Test
    void strengthZeroIsTheMuModelBitForBit() {
        Path merged = tmp.resolve("merged-mu");
        MergedCheckpoints.write(muConfig, muFactors, base, merged, null);
        Path dialled = tmp.resolve("dial-0");
        ImportanceDial.of(muConfig, muFactors, importance).writeMerged(base, dialled, ImportanceDial.Setting.dial(0), null);
        Map<String, INDArray> a = read(merged);
        Map<String, INDArray> b = read(dialled);
        assertEquals(a.keySet(), b.keySet());
        for (String n : a.keySet()) assertArrayEquals(floats(a.get(n)), floats(b.get(n)), 0f, n);
        Path uniform = tmp.resolve("uniform-1");
        ImportanceDial.of(muConfig, muFactors, importance).writeMerged(base, uniform, ImportanceDial.Setting.uniform(1), null);
        Map<String, INDArray> c = read(uniform);
        for (String n : a.keySet()) assertArrayEquals(floats(a.get(n)), floats(c.get(n)), 0f, n);
    }

    @Test
    void dialMatchesAPlainJavaReferenceElementByElement() {
        double s = 3.0;
        Path dialled = tmp.resolve("dial-3");
        ImportanceDial.of(muConfig, muFactors, importance).writeMerged(base, dialled, ImportanceDial.Setting.dial(s), null);
        Map<String, INDArray> w0 = read(base);
        Map<String, INDArray> w = read(dialled);
        int modules = importance.modules().size();
        double scaling = muConfig.scaling();
        for (Map.Entry<String, Importance.ModuleImportance> e : importance.modules().entrySet()) {
            Importance.ModuleImportance mi = e.getValue();
            float[] omega = floats(mi.omega());
            double mean = 0;
            for (float o : omega) mean += o;
            mean /= omega.length;
            double[][] dMu = product(muFactors.get(e.getKey())[1], muFactors.get(e.getKey())[0], scaling);
            double[][] dNu = product(mi.anchorB(), mi.anchorA(), mi.scaling());
            INDArray base0 = w0.get(e.getKey() + ".weight");
            INDArray got = w.get(e.getKey() + ".weight");
            int in = (int) base0.size(1);
            int changed = 0;
            for (int i = 0; i < base0.size(0); i++) {
                for (int j = 0; j < in; j++) {
                    double hat = modules * mi.lambda() * omega[i * in + j] / mean;
                    double keep = 1 / (1 + s * hat);
                    double expected = base0.getDouble(i, j) + dNu[i][j] + (dMu[i][j] - dNu[i][j]) * keep;
                    assertEquals(expected, got.getDouble(i, j), 1e-5 + 1e-5 * Math.abs(expected), e.getKey() + " [" + i + "," + j + "]");
                    if (Math.abs(got.getDouble(i, j) - (base0.getDouble(i, j) + dMu[i][j])) > 1e-6) changed++;
                }
            }
            assertTrue(changed > 0, "the dial at strength 3 changes " + e.getKey());
        }
        // modules without LoRA are copied unchanged
        for (String n : w0.keySet()) {
            if (n.contains("q_proj") || n.contains("v_proj") || n.contains("o_proj")) continue;
            assertArrayEquals(floats(w0.get(n)), floats(w.get(n)), 0f, n);
        }
    }

    @Test
    void uniformZeroIsTheNuModel() {
        Path merged = tmp.resolve("uniform-0");
        ImportanceDial.of(muConfig, muFactors, importance).writeMerged(base, merged, ImportanceDial.Setting.uniform(0), null);
        Map<String, INDArray> w0 = read(base);
        Map<String, INDArray> w = read(merged);
        for (Map.Entry<String, Importance.ModuleImportance> e : importance.modules().entrySet()) {
            double[][] dNu = product(e.getValue().anchorB(), e.getValue().anchorA(), e.getValue().scaling());
            INDArray b0 = w0.get(e.getKey() + ".weight");
            INDArray got = w.get(e.getKey() + ".weight");
            for (int i = 0; i < b0.size(0); i++) {
                for (int j = 0; j < b0.size(1); j++) assertEquals(b0.getDouble(i, j) + dNu[i][j], got.getDouble(i, j), 1e-6);
            }
        }
    }

    @Test
    void fullRankAdapterEqualsTheDialledDelta() {
        Path out = tmp.resolve("dial-svd");
        ImportanceDial dial = ImportanceDial.of(muConfig, muFactors, importance);
        ImportanceDial.Setting setting = ImportanceDial.Setting.dial(2);
        // one rank for all modules: the smallest module's full rank (v_proj [16, 24]); larger modules are truncated there
        int rank = dial.modules().stream().mapToInt(m -> (int) Math.min(muFactors.get(m)[1].size(0), muFactors.get(m)[0].size(1))).min().orElseThrow();
        ImportanceDial.AdapterResult r = dial.writeAdapter(out, setting, rank, Map.of());
        assertEquals(rank, PeftAdapters.readConfig(out).r());
        assertEquals(1.0, PeftAdapters.readConfig(out).scaling(), 0);
        Map<String, INDArray[]> f = PeftAdapters.readFactors(out);
        for (String m : dial.modules()) {
            INDArray d = dial.delta(m, setting);
            long k = Math.min(d.size(0), d.size(1));
            double[][] back = product(f.get(m)[1], f.get(m)[0], 1.0);
            double err = 0;
            double norm = 0;
            for (int i = 0; i < d.size(0); i++) {
                for (int j = 0; j < d.size(1); j++) {
                    err += Math.pow(back[i][j] - d.getDouble(i, j), 2);
                    norm += Math.pow(d.getDouble(i, j), 2);
                }
            }
            if (k == rank) {
                assertTrue(Math.sqrt(err / norm) < 1e-5, m + ": full-rank relative error " + Math.sqrt(err / norm));
                assertTrue(r.relativeErrors().get(m) < 1e-5, m + " reported " + r.relativeErrors().get(m));
            } else {
                assertEquals(Math.sqrt(err / norm), r.relativeErrors().get(m), 1e-6, m + ": the reported error is the measured one");
            }
        }
    }

    @Test
    void mismatchedModulesAndBadStrengthsAreRefused() {
        Map<String, INDArray[]> fewer = new LinkedHashMap<>(muFactors);
        String dropped = fewer.keySet().iterator().next();
        fewer.remove(dropped);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImportanceDial.of(muConfig, fewer, importance));
        assertTrue(e.getMessage().contains("importance only: [" + dropped + "]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ImportanceDial.Setting.dial(-1));
        assertThrows(IllegalArgumentException.class, () -> ImportanceDial.Setting.dial(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> ImportanceDial.Setting.uniform(Double.POSITIVE_INFINITY));
    }

    /** s·B·A in double. */
    private static double[][] product(INDArray b, INDArray a, double s) {
        int out = (int) b.size(0);
        int r = (int) b.size(1);
        int in = (int) a.size(1);
        double[][] d = new double[out][in];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double x = 0;
                for (int k = 0; k < r; k++) x += b.getDouble(i, k) * a.getDouble(k, j);
                d[i][j] = s * x;
            }
        }
        return d;
    }
}
