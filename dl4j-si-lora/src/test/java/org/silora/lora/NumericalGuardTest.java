package org.silora.lora;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;
import org.silora.io.PeftAdapters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NaN/Inf stop training with a message naming the step and module, or skip the step; never reach a file. */
class NumericalGuardTest {

    private static LoraModel poisoned() {
        ModelConfig cfg = TinyModels.llamaGqa();
        LoraModel m = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 1)), LoraConfig.builder().r(2).build(), 1);
        LoraModule first = m.modules().values().iterator().next();
        first.b().getArr().assign(0.1);
        first.a().getArr().putScalar(0, Float.NaN);
        return m;
    }

    private static List<int[]> rows() {
        Random rnd = new Random(2);
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) rows.add(TinyModels.randomIds(rnd, 61, 8));
        return rows;
    }

    @Test
    void nonFiniteLossStopsTheRunNamingTheStep() {
        LoraTrainer t = new LoraTrainer(poisoned(), TrainingOptions.builder().batchSize(2).epochs(1).build());
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> t.train(rows(), LoraTrainer.Progress.NONE));
        assertTrue(e.getMessage().startsWith("step 0: the loss is NaN"), e.getMessage());
    }

    @Test
    void skipNonFiniteLeavesTheParametersUntouched() {
        LoraModel m = poisoned();
        LoraModule last = new ArrayList<>(m.modules().values()).get(m.modules().size() - 1);
        float[] before = last.a().getArr().data().asFloat();
        LoraTrainer t = new LoraTrainer(m, TrainingOptions.builder().batchSize(2).epochs(1).skipNonFinite(true).build());
        t.train(rows(), LoraTrainer.Progress.NONE);
        assertEquals(2, t.skippedSteps());
        assertArrayEquals(before, last.a().getArr().data().asFloat(), 0f);
    }

    @Test
    void aPoisonedAdapterIsNeverWritten(@TempDir Path dir) {
        LoraModel m = poisoned();
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> PeftAdapters.save(m, dir.resolve("a")));
        assertTrue(e.getMessage().contains("lora_A of model.layers.0.self_attn.q_proj"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("a").resolve(PeftAdapters.WEIGHTS)));
    }

    @Test
    void countsNanAndInfinity() {
        INDArray a = org.nd4j.linalg.factory.Nd4j.createFromArray(1f, Float.NaN, Float.POSITIVE_INFINITY, -2f, Float.NEGATIVE_INFINITY);
        assertEquals(3, NumericalGuard.nonFinite(a));
        assertEquals(0, NumericalGuard.nonFinite(org.nd4j.linalg.factory.Nd4j.createFromArray(1f, 2f)));
    }
}
