package org.silora.control;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.QuadraticPenalty;
import org.silora.si.SiRecorder;
import org.silora.si.SiTestData;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The budget controller on a tiny LLaMA: phase ν on one token chain (the "general text", SI recorded), phase μ on
 * another chain with a learning rate that makes the unregularised run forget the first; with a budget the rise of the
 * first chain's loss on held-out probe rows stays within it.
 */
class GeneralBudgetTest {

    @TempDir
    Path tmp;

    private static final ModelConfig CFG = TinyModels.llamaGqa();
    private static final TrainingOptions MU = TrainingOptions.builder().batchSize(4).epochs(12).learningRate(3e-2).build();

    private record Nu(Path base, Path adapter, Importance importance, List<int[]> probe, List<int[]> domain) {
    }

    private Nu phaseNu() throws Exception {
        Path base = tmp.resolve("base");
        TinyModels.write(base, CFG, TinyModels.randomWeights(CFG, 43), DType.F32, 1);
        LoraModel nu = LoraModel.create(base, LoraConfig.builder().r(4).loraAlpha(8).build(), 3);
        LoraTrainer t = new LoraTrainer(nu, TrainingOptions.builder().batchSize(4).epochs(6).learningRate(1e-2).build());
        SiRecorder si = SiRecorder.builder(nu).build();
        t.addListener(si);
        t.train(SiTestData.chain(CFG.vocabSize(), 12, 20, 7, 3, 1), LoraTrainer.Progress.NONE);
        Path adapter = tmp.resolve("nu");
        PeftAdapters.save(nu, adapter);
        return new Nu(base, adapter, si.consolidate(LayerWeighting.parse("auto"), Map.of("base_model", "tiny")),
                SiTestData.chain(CFG.vocabSize(), 8, 20, 7, 3, 99),              // held out: same chain, other rows
                SiTestData.chain(CFG.vocabSize(), 12, 20, 5, 11, 2));
    }

    @Test
    void budgetKeepsGeneralLossWithinItWhereTheUnregularisedRunExceedsIt() throws Exception {
        Nu nu = phaseNu();
        // unregularised phase mu (phi = 0): how much general loss it gives up
        LoraModel free = PeftAdapters.load(nu.base(), nu.adapter());
        double baseLoss = GeneralBudget.baseModelLoss(free, nu.probe(), 8);
        double startDelta = LoraTrainer.meanLoss(free, nu.probe(), 8) - baseLoss;
        new LoraTrainer(free, MU).train(nu.domain(), LoraTrainer.Progress.NONE);
        double freeDelta = LoraTrainer.meanLoss(free, nu.probe(), 8) - baseLoss;
        double domainFree = LoraTrainer.meanLoss(free, nu.domain(), 8);
        double budget = (startDelta + freeDelta) / 2;   // here below 0: phase nu made the probe better than the base
        assertTrue(freeDelta - startDelta > 0.2,
                "the setting must make the unregularised run forget: start " + startDelta + ", free " + freeDelta);

        LoraModel held = PeftAdapters.load(nu.base(), nu.adapter());
        GeneralBudget controller = GeneralBudget.builder(QuadraticPenalty.si(held, nu.importance(), 1))
                .budget(budget).every(2).probe(nu.probe()).build(held);
        assertEquals(baseLoss, controller.baseLoss(), 1e-9, "the base loss is the adapter-free model's");
        LoraTrainer t = new LoraTrainer(held, MU);
        t.setPenalty(controller);
        t.addListener(controller);
        t.train(nu.domain(), LoraTrainer.Progress.NONE);
        double heldDelta = controller.measureDeltaLoss();
        List<GeneralBudget.Point> traj = controller.trajectory();
        assertEquals(MU.epochs() * 3 / 2, traj.size(), "one point every 2 of the " + MU.epochs() * 3 + " steps");
        assertTrue(heldDelta <= budget + 0.1 * (freeDelta - startDelta), "final general delta loss " + heldDelta + " against budget " + budget
                + " (unregularised " + freeDelta + "); trajectory " + traj);
        assertTrue(traj.stream().mapToDouble(GeneralBudget.Point::coefficient).max().orElseThrow() > 1e-2,
                "phi rose while the budget was exceeded: " + traj);
        // it learned the domain too: the domain loss fell below where phase mu started
        LoraModel start = PeftAdapters.load(nu.base(), nu.adapter());
        double domainStart = LoraTrainer.meanLoss(start, nu.domain(), 8);
        double domainHeld = LoraTrainer.meanLoss(held, nu.domain(), 8);
        assertTrue(domainHeld < domainStart - 0.05, "domain loss " + domainStart + " -> " + domainHeld + " (unregularised " + domainFree + "); trajectory " + traj);
    }

    @Test
    void theRuleIsLogSpaceDualAscentWithinBounds() throws Exception {
        Nu nu = phaseNu();
        LoraModel m = PeftAdapters.load(nu.base(), nu.adapter());
        GeneralBudget b = GeneralBudget.builder(QuadraticPenalty.si(m, nu.importance(), 0.5))
                .budget(0.1).rate(10).bounds(1e-3, 10).probe(nu.probe()).baseLoss(1.0).build(m);
        assertEquals(0.5 * Math.exp(1.0), b.next(0.5, 0.2), 1e-12, "0.1 nat over the budget: times e");
        assertEquals(0.5 * Math.exp(-1.0), b.next(0.5, 0.0), 1e-12, "0.1 nat under: divided by e");
        assertEquals(0.5, b.next(0.5, 0.1), 1e-12, "on the budget: unchanged");
        assertEquals(10, b.next(9, 5.0), 0, "clamped above");
        assertEquals(1e-3, b.next(1e-3, 0.0), 0, "clamped below");
    }

    @Test
    void checkpointStateRestoresCoefficientAndTrajectory() throws Exception {
        Nu nu = phaseNu();
        LoraModel m = PeftAdapters.load(nu.base(), nu.adapter());
        GeneralBudget b = GeneralBudget.builder(QuadraticPenalty.si(m, nu.importance(), 1e-2)).budget(0.05).every(1)
                .probe(nu.probe()).build(m);
        LoraTrainer t = new LoraTrainer(m, TrainingOptions.builder().batchSize(4).epochs(1).learningRate(2e-2).build());
        t.setPenalty(b);
        t.addListener(b);
        t.train(nu.domain(), LoraTrainer.Progress.NONE);
        Map<String, INDArray> state = b.checkpointState();
        GeneralBudget again = GeneralBudget.builder(QuadraticPenalty.si(m, nu.importance(), 1e-2)).budget(0.05).every(1)
                .probe(nu.probe()).baseLoss(b.baseLoss()).build(m);
        again.restoreCheckpointState(state);
        assertEquals(b.coefficient(), again.coefficient(), 0);
        assertEquals(b.trajectory(), again.trajectory());
        assertEquals(3, again.trajectory().size());
    }

    @Test
    void badSettingsAreRefusedInOneLine() throws Exception {
        Nu nu = phaseNu();
        LoraModel m = PeftAdapters.load(nu.base(), nu.adapter());
        QuadraticPenalty p = QuadraticPenalty.si(m, nu.importance(), 1e-3);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GeneralBudget.builder(p).budget(Double.NaN).probe(nu.probe()).build(m))
                .getMessage().contains("--general-budget"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GeneralBudget.builder(p).budget(0.1).build(m))
                .getMessage().contains("--general-probe"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GeneralBudget.builder(p.withCoefficient(0)).budget(0.1)
                .probe(nu.probe()).build(m)).getMessage().contains("above 0"));
    }
}
