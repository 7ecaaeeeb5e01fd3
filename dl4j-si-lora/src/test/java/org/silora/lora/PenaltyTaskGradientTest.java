package org.silora.lora;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.QuadraticPenalty;
import org.silora.si.SiRecorder;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With a penalty, listeners still see the gradient of the task loss alone: equal to what a twin model without the
 * penalty computes at the same parameters. And the penalty does change the step (the optimizer sees the total).
 */
class PenaltyTaskGradientTest {

    @Test
    void listenersSeeTaskGradientsOnlyWhileTheOptimizerSeesTheTotal() {
        ModelConfig cfg = TinyModels.llamaGqa();
        LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 3)), LoraConfig.builder().r(4).build(), 5);
        Random rnd = new Random(1);
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), 12));
        TokenBatch batch = new TokenBatch(rows);
        LoraTrainer nu = new LoraTrainer(model, TrainingOptions.builder().batchSize(4).learningRate(1e-2).build());
        SiRecorder rec = SiRecorder.builder(model).build();
        nu.addListener(rec);
        for (int i = 0; i < 5; i++) nu.step(List.of(batch));
        Importance imp = rec.consolidate(LayerWeighting.AUTO, Map.of());

        // move away from the anchor so that the penalty's gradient is not zero; a twin holds the same factors
        LoraModel twin = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 3)), LoraConfig.builder().r(4).build(), 5);
        Nd4j.getRandom().setSeed(9);
        for (var e : model.modules().entrySet()) {
            e.getValue().b().getArr().addi(Nd4j.randn(DataType.FLOAT, e.getValue().b().getArr().shape()).muli(0.05));
            twin.modules().get(e.getKey()).a().getArr().assign(e.getValue().a().getArr());
            twin.modules().get(e.getKey()).b().getArr().assign(e.getValue().b().getArr());
        }
        List<Map<String, INDArray>> seen = new ArrayList<>();
        StepListener capture = new StepListener() {
            @Override
            public void beforeUpdate(StepContext c) {
                Map<String, INDArray> m = new HashMap<>();
                c.taskGradients().forEach((k, v) -> m.put(k, v.dup()));
                seen.add(m);
            }
        };
        LoraTrainer mu = new LoraTrainer(model, TrainingOptions.builder().batchSize(4).learningRate(1e-2).build());
        mu.setPenalty(QuadraticPenalty.si(model, imp, 1.0));
        mu.addListener(capture);
        LoraTrainer plain = new LoraTrainer(twin, TrainingOptions.builder().batchSize(4).learningRate(1e-2).build());
        plain.addListener(capture);
        double[] withPenalty = mu.step(List.of(batch));
        plain.step(List.of(batch));

        assertTrue(withPenalty[1] > 0, "the penalty is active: " + withPenalty[1]);
        for (String k : seen.get(1).keySet()) {
            INDArray expected = seen.get(1).get(k);
            double rel = seen.get(0).get(k).sub(expected).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue();
            assertEquals(0.0, rel, 0.0, k);   // the same graph gradient: the penalty's is added outside it
        }
        // the optimizer used the total gradient: the penalised step differs from the plain one
        String any = model.modules().keySet().iterator().next();
        double moved = model.modules().get(any).b().getArr().sub(twin.modules().get(any).b().getArr()).amaxNumber().doubleValue();
        assertTrue(moved > 0, "penalised and plain steps differ");
        model.lm().close();
        twin.lm().close();
    }
}
