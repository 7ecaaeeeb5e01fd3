package org.silora.memory;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.RopeScaling;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.graph.Weights;
import org.silora.hf.model.CausalLm;
import org.silora.hf.model.StepMemory;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.CausalLmLoss;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TokenBatch;
import org.silora.lora.TrainingOptions;
import org.silora.si.SiMode;
import org.silora.si.SiRecorder;
import org.silora.step.DirectGptjStep;
import org.silora.step.DirectLlamaStep;
import org.silora.step.DirectStep;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plan's parts against what a run really holds: the weights exactly; the arrays of a training step and of a
 * forward pass against {@link StepMemory}'s measured working set, on models whose widths all differ (so that each
 * array's kind is unambiguous) and that differ from the models the coefficients were measured on.
 */
class MemoryPlannerTest {

    private static final long BUDGET = 64L << 30;

    private static List<int[]> rows(int vocab, int batch, int len) {
        Random rnd = new Random(1);
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i < batch; i++) rows.add(TinyModels.randomIds(rnd, vocab, len + 1));
        return rows;
    }

    private static List<ModelConfig> configs() {
        return List.of(
                new LlamaConfig(2003, 160, 432, 3, 8, 2, 24, 1e-5, 10000.0, RopeScaling.NONE, 256, false, false, false),
                new LlamaConfig(1501, 128, 344, 2, 4, 4, 32, 1e-5, 10000.0, RopeScaling.NONE, 256, true, false, false),
                new GptjConfig(2003, 160, 640, 3, 5, 16, 1e-5, 256, false));
    }

    @Test
    void trainingArraysMatchTheMeasuredWorkingSet() {
        for (ModelConfig cfg : configs()) {
            for (LoraConfig lora : List.of(LoraConfig.builder().r(8).build(),
                    LoraConfig.builder().r(8).targetModulesRegex(".*(q_proj|k_proj|v_proj|o_proj|out_proj|gate_proj|up_proj|down_proj|fc_in|fc_out)").build())) {
                int batch = 3;
                int len = 40;
                LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 2)), lora, 1);
                LoraTrainer t = new LoraTrainer(model, TrainingOptions.builder().batchSize(batch).engine(TrainingOptions.Engine.SAMEDIFF).build());
                t.addListener(SiRecorder.builder(model).mode(SiMode.PAPER).build());
                TokenBatch b = new TokenBatch(rows(cfg.vocabSize(), batch, len));
                for (int i = 0; i < 3; i++) t.step(List.of(b));
                StepMemory mem = StepMemory.install(model.sameDiff().getFunction("grad"));
                long measured = mem.ownedBytes();
                MemoryPlan p = MemoryPlanner.training(cfg, lora, batch, len, 1, MemoryPlanner.Extra.SI_PAPER, "test", BUDGET,
                        TrainingOptions.Engine.SAMEDIFF);
                long planned = p.bytes("training arrays");
                double ratio = (double) planned / measured;
                System.err.printf("%s, %d targets: training arrays planned %.2f MB, measured %.2f MB (%.2f)%n",
                        cfg.architecture(), model.modules().size(), planned / 1e6, measured / 1e6, ratio);
                assertTrue(ratio > 0.85 && ratio < 1.35, cfg + " " + lora.targetModules() + ": planned " + planned + " vs measured " + measured);
                model.lm().close();
            }
        }
    }

    /** The direct step's plan is its arrays counted one by one: it equals what a pass allocates, to the byte. */
    @Test
    void directStepArraysEqualThePlan() {
        for (ModelConfig cfg : configs()) {
            String mlp = cfg instanceof LlamaConfig ? "(gate_proj|up_proj|down_proj|o_proj)" : "(fc_in|fc_out|out_proj)";
            String layer1 = cfg instanceof LlamaConfig ? "model\\.layers\\.1\\." : "transformer\\.h\\.1\\.";
            for (LoraConfig lora : List.of(LoraConfig.builder().r(8).build(),
                    LoraConfig.builder().r(4).targetModulesRegex(layer1 + ".*" + mlp).build())) {
                for (int len : new int[]{40, 24}) {
                    int batch = 3;
                    LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 2)), lora, 1);
                    Map<String, DirectStep.Lora> factors = new LinkedHashMap<>();
                    Map<String, Integer> ranks = new LinkedHashMap<>();
                    for (LoraModule m : model.modules().values()) {
                        factors.put(m.name(), new DirectStep.Lora(m.a().getArr(), m.b().getArr(), m.scaling()));
                        ranks.put(m.name(), lora.r());
                    }
                    try (DirectStep step = DirectStep.of(model.lm().graph(), factors, 2)) {
                        int[][] ids = new int[batch][len];
                        int[] lengths = new int[batch];
                        java.util.Arrays.fill(lengths, len);
                        step.run(ids, lengths, ids, false);
                        long rotary = 4L * 2 * len * cfg.headDim();   // the tables by position, not a working array
                        long planned = (cfg instanceof LlamaConfig l
                                ? DirectLlamaStep.plannedWorkingBytes(l, batch, len, 2, ranks, false)
                                : DirectGptjStep.plannedWorkingBytes((GptjConfig) cfg, batch, len, 2, ranks, false)) - rotary;
                        assertEquals(planned, step.workingBytes(), cfg.architecture() + " " + ranks.keySet() + " T=" + len);
                    }
                    model.lm().close();
                }
            }
        }
    }

    @Test
    void forwardArraysCoverTheMeasuredWorkingSet() {
        for (ModelConfig cfg : configs()) {
            for (DataType storage : List.of(DataType.FLOAT, DataType.BFLOAT16)) {
                CausalLm lm = CausalLm.build(cfg, Weights.of(TinyModels.randomWeights(cfg, 3)), LinearFactory.BASE, false, storage);
                CausalLmLoss.addTo(lm);
                TokenBatch b = new TokenBatch(rows(cfg.vocabSize(), 4, 48));
                StepMemory mem = StepMemory.install(lm.sameDiff());
                lm.sameDiff().output(b.placeholders(lm), lm.graph().flatLogits().name());   // what evaluation reads
                long measured = mem.peakLiveBytes();
                MemoryPlan p = MemoryPlanner.inference(cfg, storage, 4, 48, "eval", BUDGET);
                long planned = p.bytes("forward arrays") + p.bytes("widened weights");
                System.err.printf("%s %s: forward arrays planned %.2f MB, measured %.2f MB%n", cfg.architecture(), storage,
                        planned / 1e6, measured / 1e6);
                assertTrue(planned >= measured, cfg + " " + storage + ": planned " + planned + " < measured " + measured);
                assertTrue(planned < 4 * measured, cfg + " " + storage + ": planned " + planned + " far above measured " + measured);
                lm.close();
            }
        }
    }

    @Test
    void weightsAreCountedExactly() {
        ModelConfig cfg = TinyModels.gptj();
        long f32 = 0;
        long half = 0;
        for (long[] s : CausalLm.tensorShapes(cfg).values()) {
            long n = 1;
            for (long d : s) n *= d;
            f32 += 4 * n;
            half += (s.length == 2 ? 2 : 4) * n;
        }
        long zeroBiases = 0;
        for (long[] m : MemoryPlanner.linears(cfg).values()) zeroBiases += 4 * m[0];
        assertEquals(f32 + zeroBiases, MemoryPlanner.inference(cfg, DataType.FLOAT, 1, 8, "t", BUDGET).bytes("weights"));
        assertEquals(half + zeroBiases, MemoryPlanner.inference(cfg, DataType.HALF, 1, 8, "t", BUDGET).bytes("weights"));
    }

    @Test
    void aRunThatDoesNotFitIsOneLineNamingEstimateBudgetAndWayOut() {
        ModelConfig cfg = TinyModels.llamaGqa();
        MemoryPlan p = MemoryPlanner.training(cfg, LoraConfig.builder().build(), 4, 64, 1, MemoryPlanner.Extra.NONE, "train-general", 1L << 20);
        assertFalse(p.fits());
        MemoryPlan.DoesNotFit e = assertThrows(MemoryPlan.DoesNotFit.class, () -> p.require("lower --batch-size"));
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        assertTrue(m.startsWith("train-general needs about "), m);
        assertTrue(m.contains("more than the 0.0 GB it may use"), m);
        assertTrue(m.endsWith(": lower --batch-size"), m);
        assertTrue(MemoryPlanner.training(cfg, LoraConfig.builder().build(), 4, 64, 1, MemoryPlanner.Extra.NONE, "t", BUDGET).fits());
    }

    @Test
    void sizesParseAsPeopleWriteThem() {
        assertEquals(16L << 30, MachineMemory.parseSize("16g"));
        assertEquals(16L << 30, MachineMemory.parseSize("16GB"));
        assertEquals(3L << 29, MachineMemory.parseSize("1.5GiB"));
        assertEquals(800L << 20, MachineMemory.parseSize("800m"));
        assertEquals(4096, MachineMemory.parseSize("4096"));
        assertThrows(IllegalArgumentException.class, () -> MachineMemory.parseSize("lots"));
        assertThrows(IllegalArgumentException.class, () -> MachineMemory.parseSize("-3g"));
        assertTrue(MachineMemory.defaultBudget() < MachineMemory.physicalBytes());
    }
}
