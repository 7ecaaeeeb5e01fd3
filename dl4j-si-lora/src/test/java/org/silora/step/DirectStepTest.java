package org.silora.step;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.LoraTrainer;
import org.silora.lora.StepListener;
import org.silora.lora.TokenBatch;
import org.silora.lora.TrainingOptions;
import org.silora.lora.TrainingOptions.Engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hand-written LLaMA step equals SameDiff's gradient pass over the same graph, within float rounding: the loss,
 * every LoRA gradient, and the module inputs and output gradients that EXACT-mode SI reads, for grouped-query
 * attention, tied embeddings with llama3 rope scaling, attention and MLP biases, GPT-J's parallel block with partial
 * interleaved rotary, LayerNorm and gelu_new, rows of different lengths, LoRA on every linear module (lm_head too),
 * on one thread and on two; and training with either engine ends in the same adapter.
 */
class DirectStepTest {

    private static LoraModel model(ModelConfig cfg, String[] targets, long seed) {
        Map<String, INDArray> w = TinyModels.randomWeights(cfg, seed);
        LoraConfig lc = LoraConfig.builder().r(3).loraAlpha(6).targetModules(targets).build();
        LoraModel probe = LoraModel.create(cfg, Weights.of(w), lc, 1);
        Map<String, INDArray[]> factors = new LinkedHashMap<>();
        Nd4j.getRandom().setSeed(seed);
        for (LoraModule m : probe.modules().values()) {
            // B != 0, so that every path carries a gradient
            factors.put(m.name(), new INDArray[]{Nd4j.rand(DataType.FLOAT, m.a().getArr().shape()).subi(0.5),
                    Nd4j.rand(DataType.FLOAT, m.b().getArr().shape()).subi(0.5).muli(0.5)});
        }
        return LoraModel.withFactors(cfg, Weights.of(w), lc, factors);
    }

    private static List<int[]> rows(ModelConfig cfg, long seed, int... lengths) {
        Random rnd = new Random(seed);
        List<int[]> rows = new ArrayList<>();
        for (int len : lengths) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), len));
        return rows;
    }

    /** Records what a step hands its listeners: the task gradients and the module tensors EXACT mode asks for. */
    private static final class Capture implements StepListener {
        final List<String> acts = new ArrayList<>();
        final List<String> actGrads = new ArrayList<>();
        final Map<String, INDArray> seen = new HashMap<>();
        double loss;

        Capture(LoraModel m) {
            for (LoraModule mod : m.modules().values()) {
                acts.add(mod.input().name());
                actGrads.add(mod.output().name());
            }
        }

        @Override
        public List<String> requiredActivations() {
            return acts;
        }

        @Override
        public List<String> requiredActivationGradients() {
            return actGrads;
        }

        @Override
        public void microBatch(int index, Map<String, INDArray> activations, Map<String, INDArray> activationGradients, double weight) {
            for (String n : acts) seen.put("x:" + n, activations.get(n).dup());
            for (String n : actGrads) seen.put("d:" + n, activationGradients.get(n).dup());
        }

        @Override
        public void beforeUpdate(StepContext ctx) {
            loss = ctx.loss();
            for (Map.Entry<String, INDArray> e : ctx.taskGradients().entrySet()) seen.put("g:" + e.getKey(), e.getValue().dup());
        }
    }

    private static Capture oneStep(ModelConfig cfg, String[] targets, List<int[]> rows, Engine engine, int threads) {
        LoraModel m = model(cfg, targets, 11);
        int before = Nd4j.factory().blas().getMaxThreads();
        Nd4j.factory().blas().setMaxThreads(threads);
        try {
            LoraTrainer tr = new LoraTrainer(m, TrainingOptions.builder().batchSize(rows.size()).learningRate(1e-3).engine(engine).build());
            assertEquals(engine == Engine.DIRECT ? "direct" : "samediff", tr.engineName());
            Capture c = new Capture(m);
            tr.addListener(c);
            tr.step(List.of(new TokenBatch(rows)));
            return c;
        } finally {
            Nd4j.factory().blas().setMaxThreads(before);
        }
    }

    /**
     * The graph's loss sums over padded positions too (their features are zero, so no LoRA factor gets a gradient from
     * them, but the logits do): the output gradient of an adapted lm_head is compared at real tokens only.
     */
    private static INDArray realTokens(INDArray g, List<int[]> rows) {
        int t = 0;
        for (int[] r : rows) t = Math.max(t, r.length - 1);
        INDArray out = g.dup().reshape(rows.size(), t, -1);
        for (int b = 0; b < rows.size(); b++) {
            for (int j = rows.get(b).length - 1; j < t; j++) out.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(j), org.nd4j.linalg.indexing.NDArrayIndex.all()).assign(0);
        }
        return out.reshape(g.shape());
    }

    private static void assertSame(Capture ref, Capture got, String what, List<int[]> rows) {
        assertEquals(ref.loss, got.loss, 1e-5 * Math.abs(ref.loss), what + ": loss");
        assertEquals(ref.seen.keySet(), got.seen.keySet(), what + ": tensors");
        int compared = 0;
        for (Map.Entry<String, INDArray> e : ref.seen.entrySet()) {
            INDArray a = e.getKey().startsWith("d:lm_head") ? realTokens(e.getValue(), rows) : e.getValue();
            INDArray b = got.seen.get(e.getKey()).reshape(a.shape());
            double scale = Math.max(a.norm2Number().doubleValue(), 1e-12);
            double rel = a.sub(b).norm2Number().doubleValue() / scale;
            assertTrue(rel < 2e-5, what + " " + e.getKey() + ": relative L2 difference " + rel);
            assertTrue(a.norm2Number().doubleValue() > 0 || e.getKey().startsWith("x:"), what + " " + e.getKey() + " is all zero");
            compared++;
        }
        assertTrue(compared > 10, what + ": compared " + compared);
    }

    @Test
    void directStepEqualsTheGraphsGradientPass() {
        String[] all = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
        Object[][] cases = {
                {TinyModels.llamaGqa(), all, "GQA, all linear"},
                {TinyModels.llama3Tied(), new String[]{"q_proj", "v_proj", "lm_head"}, "tied embeddings, llama3 rope, lm_head"},
                {TinyModels.llamaLinearBias(), all, "biases, linear rope"},
                {TinyModels.gptj(), new String[]{"q_proj", "k_proj", "v_proj", "out_proj", "fc_in", "fc_out"}, "GPT-J, partial rotary"},
                {TinyModels.gptj(), new String[]{"v_proj", "lm_head"}, "GPT-J, lm_head"},
        };
        for (Object[] c : cases) {
            ModelConfig cfg = (ModelConfig) c[0];
            String[] targets = (String[]) c[1];
            List<int[]> rows = rows(cfg, 5, 13, 9, 13, 4);   // different lengths: right padding
            Capture ref = oneStep(cfg, targets, rows, Engine.SAMEDIFF, 1);
            assertSame(ref, oneStep(cfg, targets, rows, Engine.DIRECT, 1), c[2] + " (1 thread)", rows);
            assertSame(ref, oneStep(cfg, targets, rows, Engine.DIRECT, 2), c[2] + " (2 threads)", rows);
        }
    }

    @Test
    void trainingWithEitherEngineEndsInTheSameAdapter() {
        LlamaConfig cfg = TinyModels.llamaGqa();
        List<int[]> rows = rows(cfg, 8, 10, 10, 7, 10, 10, 5);
        Map<String, INDArray> end = new HashMap<>();
        for (Engine e : new Engine[]{Engine.SAMEDIFF, Engine.DIRECT}) {
            LoraModel m = model(cfg, new String[]{"q_proj", "v_proj", "down_proj"}, 3);
            new LoraTrainer(m, TrainingOptions.builder().batchSize(2).epochs(3).learningRate(5e-3).engine(e).build())
                    .train(rows, LoraTrainer.Progress.NONE);
            for (LoraModule mod : m.modules().values()) {
                INDArray d = mod.delta();
                INDArray ref = end.putIfAbsent(mod.name(), d);
                if (ref != null) {
                    double rel = ref.sub(d).norm2Number().doubleValue() / ref.norm2Number().doubleValue();
                    assertTrue(rel < 1e-4, mod.name() + ": adapters differ by " + rel);
                }
            }
        }
    }

    @Test
    void directEngineIsRefusedWhereItDoesNotApply() {
        LlamaConfig cfg = TinyModels.llamaGqa();
        org.silora.hf.model.CausalLm full = org.silora.hf.model.CausalLm.build(cfg, Weights.of(TinyModels.randomWeights(cfg, 1)),
                org.silora.hf.graph.LinearFactory.BASE, true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraTrainer.forVariables(full,
                List.of("model.norm.weight"), TrainingOptions.builder().engine(Engine.DIRECT).build()));
        assertTrue(e.getMessage().contains("direct engine"), e.getMessage());
        assertEquals("samediff", LoraTrainer.forVariables(full, List.of("model.norm.weight"), TrainingOptions.builder().build()).engineName());
        full.close();
    }
}
