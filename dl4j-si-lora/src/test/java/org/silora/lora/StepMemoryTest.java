package org.silora.lora;

import org.junit.jupiter.api.Test;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;
import org.silora.si.SiMode;
import org.silora.si.SiRecorder;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Recycling SameDiff's arrays between steps changes nothing: same losses, adapter and ω, bit for bit. */
class StepMemoryTest {

    private record Run(List<Double> losses, List<float[]> factors, float[] omega, long reused) {
    }

    private static Run train(boolean recycle, SiMode mode) {
        ModelConfig cfg = TinyModels.llamaGqa();
        LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 3)), LoraConfig.builder().r(4).build(), 5);
        LoraTrainer t = new LoraTrainer(model, TrainingOptions.builder().batchSize(3).learningRate(5e-3)
                .recycleArrays(recycle).engine(TrainingOptions.Engine.SAMEDIFF).build());
        SiRecorder rec = SiRecorder.builder(model).mode(mode).build();
        t.addListener(rec);
        Random rnd = new Random(11);
        List<int[]> rows = new ArrayList<>();
        // two lengths, so the pool sees changing shapes (padded batches of different widths)
        for (int i = 0; i < 12; i++) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), i % 2 == 0 ? 9 : 6));
        List<Double> losses = new ArrayList<>();
        for (int epoch = 0; epoch < 3; epoch++) {
            for (int i = 0; i < rows.size(); i += 6) {   // steps of two micro-batches of three rows
                losses.add(t.step(List.of(new TokenBatch(rows.subList(i, i + 3)), new TokenBatch(rows.subList(i + 3, i + 6))))[0]);
            }
        }
        List<float[]> factors = new ArrayList<>();
        for (LoraModule m : model.modules().values()) {
            factors.add(m.a().getArr().data().asFloat());
            factors.add(m.b().getArr().data().asFloat());
        }
        String first = model.modules().keySet().iterator().next();
        var grad = model.sameDiff().getFunction("grad");
        long reused = 0;
        for (var s : grad.getSessions().values()) {
            if (s.getMmgr() instanceof org.silora.hf.model.StepMemory m) reused += m.reused();
        }
        Run run = new Run(losses, factors, rec.omega(first).dup().data().asFloat(), reused);
        model.lm().close();
        return run;
    }

    @Test
    void recycledStepsEqualFreshAllocationsBitForBit() {
        for (SiMode mode : SiMode.values()) {
            Run plain = train(false, mode);
            Run recycled = train(true, mode);
            assertEquals(0, plain.reused());
            assertTrue(recycled.reused() > 100, "the pool served allocations: " + recycled.reused());
            assertEquals(plain.losses(), recycled.losses(), mode + " losses");
            for (int i = 0; i < plain.factors().size(); i++) {
                assertArrayEquals(plain.factors().get(i), recycled.factors().get(i), 0f, mode + " factor " + i);
            }
            assertArrayEquals(plain.omega(), recycled.omega(), 0f, mode + " omega");
        }
    }
}
