package org.silora.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.QuadraticPenalty;
import org.silora.si.SiMode;
import org.silora.si.SiRecorder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data-parallel training on Spark ({@code local[2,2]}, two shards a step) ends with the adapter and the importance of
 * the single-process trainer given the same rows, batch, seed and data order, within 1e-3 relative (the order of float
 * additions differs): phase ν with SI in PAPER mode and in EXACT mode (δᵀ·x summed over shards and micro-batches),
 * phase μ with the SI penalty; also when a task fails once mid-step and Spark retries it, and when the run is resumed
 * from a checkpoint the driver wrote (and the executor's replicas, once loaded, serve every later step). Rows have different lengths and micro-batches of 3 rows split 2 + 1, so the
 * shards hold unequal token counts: averaging them naively would not give the single-process gradient.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DataParallelTrainingTest {

    private static final int WORKERS = 2;
    private static final LoraConfig LORA = LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "down_proj").build();

    private Path tmp;
    private Path modelDir;
    private List<int[]> rows;
    private JavaSparkContext sc;

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        ModelConfig cfg = TinyModels.llamaGqa();
        modelDir = tmp.resolve("model");
        TinyModels.write(modelDir, cfg, TinyModels.randomWeights(cfg, 5), DType.F32, 1);
        Random rnd = new Random(9);
        rows = new ArrayList<>();
        for (int i = 0; i < 12; i++) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), 6 + rnd.nextInt(12)));
        // local[2,2]: two task slots, and a failed task is tried again once
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2,2]").setAppName("silora-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1"));
    }

    @AfterAll
    void tearDown() {
        if (sc != null) sc.close();
    }

    private static TrainingOptions options() {
        return TrainingOptions.builder().batchSize(3).gradientAccumulation(2).epochs(2).learningRate(1e-2).seed(7).build();
    }

    /** What a ν run leaves: the adapter's factors and Ω per module. */
    private record Outcome(Map<String, INDArray> factors, Map<String, INDArray> omega, List<Double> losses) {
    }

    private static Map<String, INDArray> factors(LoraModel m) {
        Map<String, INDArray> f = new LinkedHashMap<>();
        for (LoraModule mod : m.modules().values()) {
            f.put(mod.name() + ".A", mod.a().getArr().dup());
            f.put(mod.name() + ".B", mod.b().getArr().dup());
        }
        return f;
    }

    private interface Run {
        List<Double> train(LoraTrainer trainer);
    }

    private Outcome general(SiMode mode, Run run) {
        LoraModel model = LoraModel.create(modelDir, LORA, 3);
        try {
            LoraTrainer trainer = new LoraTrainer(model, options());
            SiRecorder si = SiRecorder.builder(model).mode(mode).build();
            trainer.addListener(si);
            List<Double> losses = run.train(trainer);
            Importance imp = si.consolidate(LayerWeighting.AUTO, Map.of());
            Map<String, INDArray> omega = new LinkedHashMap<>();
            imp.modules().forEach((k, v) -> omega.put(k, v.omega().dup()));
            return new Outcome(factors(model), omega, losses);
        } finally {
            model.lm().close();
        }
    }

    private List<Double> onSpark(LoraTrainer trainer, SparkGradientSource source) {
        return trainer.train(rows, LoraTrainer.Progress.NONE, source).stepLosses();
    }

    private SparkGradientSource cluster(LoraTrainer trainer) {
        return new SparkGradientSource(sc, ReplicaSpec.of(modelDir, trainer.model().config(), trainer.options().engine()), trainer, WORKERS);
    }

    private static void assertClose(Map<String, INDArray> ref, Map<String, INDArray> got, String what) {
        assertEquals(ref.keySet(), got.keySet(), what);
        for (Map.Entry<String, INDArray> e : ref.entrySet()) {
            INDArray a = e.getValue();
            INDArray b = got.get(e.getKey());
            double norm = a.norm2Number().doubleValue();
            assertTrue(norm > 0, what + " " + e.getKey() + " is all zero: nothing was trained or recorded");
            double rel = a.sub(b).norm2Number().doubleValue() / norm;
            assertTrue(rel < 1e-3, what + " " + e.getKey() + ": relative L2 difference " + rel);
        }
    }

    private static void assertSameLosses(List<Double> ref, List<Double> got) {
        assertEquals(ref.size(), got.size(), "steps");
        for (int i = 0; i < ref.size(); i++) assertEquals(ref.get(i), got.get(i), 1e-4 * Math.abs(ref.get(i)), "loss of step " + i);
    }

    @Test
    void paperModeOnTwoWorkersEqualsOneProcess() {
        Outcome one = general(SiMode.PAPER, t -> t.train(rows, LoraTrainer.Progress.NONE).stepLosses());
        Outcome two = general(SiMode.PAPER, t -> onSpark(t, cluster(t)));
        assertSameLosses(one.losses(), two.losses());
        assertClose(one.factors(), two.factors(), "adapter");
        assertClose(one.omega(), two.omega(), "Omega");
    }

    @Test
    void exactModeSumsWeightGradientsOverShards() {
        Outcome one = general(SiMode.EXACT, t -> t.train(rows, LoraTrainer.Progress.NONE).stepLosses());
        Outcome two = general(SiMode.EXACT, t -> onSpark(t, cluster(t)));
        assertSameLosses(one.losses(), two.losses());
        assertClose(one.factors(), two.factors(), "adapter");
        assertClose(one.omega(), two.omega(), "Omega");
    }

    @Test
    void taskFailingOnceMidStepIsRetriedWithTheSameResult() {
        Outcome one = general(SiMode.PAPER, t -> t.train(rows, LoraTrainer.Progress.NONE).stepLosses());
        Outcome retried = general(SiMode.PAPER, t -> onSpark(t, cluster(t).failOnce(2, 1)));
        assertSameLosses(one.losses(), retried.losses());
        assertClose(one.factors(), retried.factors(), "adapter");
        assertClose(one.omega(), retried.omega(), "Omega");
    }

    @Test
    void resumedFromTheDriversCheckpointEqualsAnUninterruptedRun() {
        Outcome uninterrupted = general(SiMode.PAPER, t -> onSpark(t, cluster(t)));
        Path ck = tmp.resolve("checkpoint");
        // a run that writes a checkpoint after step 3 of 4; what it did after that is thrown away
        general(SiMode.PAPER, t -> {
            t.checkpointEvery(ck, 3, Map.of());
            return onSpark(t, cluster(t));
        });
        int loads = Replicas.loads();
        Outcome resumed = general(SiMode.PAPER, t -> {
            t.resume(ck);
            assertEquals(3, t.step(), "the checkpoint holds three steps");
            return onSpark(t, cluster(t));
        });
        assertEquals(loads, Replicas.loads(), "the executor's replicas are loaded once and reused by later steps and runs");
        assertSameLosses(uninterrupted.losses(), resumed.losses());
        assertClose(uninterrupted.factors(), resumed.factors(), "adapter");
        assertClose(uninterrupted.omega(), resumed.omega(), "Omega");
    }

    @Test
    void domainPhaseWithThePenaltyOnTwoWorkersEqualsOneProcess() throws Exception {
        Path impFile = tmp.resolve("importance.safetensors");
        LoraModel nu = LoraModel.create(modelDir, LORA, 3);
        try {
            LoraTrainer t = new LoraTrainer(nu, options());
            SiRecorder si = SiRecorder.builder(nu).build();
            t.addListener(si);
            t.train(rows, LoraTrainer.Progress.NONE);
            si.consolidate(LayerWeighting.AUTO, Importance.provenance(modelDir.toString(),
                    org.silora.io.ModelFingerprint.of(modelDir), nu, 1, "test")).save(impFile, DType.F32);
        } finally {
            nu.lm().close();
        }
        Importance imp = Importance.load(impFile);
        List<int[]> domain = new ArrayList<>(rows.subList(0, 9));
        java.util.Collections.reverse(domain);
        Map<String, INDArray>[] adapters = new Map[2];
        List<Double>[] penalties = new List[2];
        for (int k = 0; k < 2; k++) {
            LoraModel mu = imp.continueFrom(modelDir);
            try {
                LoraTrainer t = new LoraTrainer(mu, options());
                t.setPenalty(QuadraticPenalty.si(mu, imp, 1e-1));
                var r = k == 0 ? t.train(domain, LoraTrainer.Progress.NONE) : t.train(domain, LoraTrainer.Progress.NONE, cluster(t));
                adapters[k] = factors(mu);
                penalties[k] = r.stepPenalties();
            } finally {
                mu.lm().close();
            }
        }
        assertTrue(penalties[0].get(penalties[0].size() - 1) > 0, "the penalty acts once the adapter moves off the anchor");
        assertSameLosses(penalties[0], penalties[1]);
        assertClose(adapters[0], adapters[1], "mu adapter");
    }
}
