package org.silora.lora;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Gradients of A and B from either engine (the direct step, SameDiff's pass) equal central finite differences of the real loss. */
class LoraGradientTest {

    @Test
    void loraGradientsMatchFiniteDifferences() {
        for (TrainingOptions.Engine engine : new TrainingOptions.Engine[]{TrainingOptions.Engine.DIRECT, TrainingOptions.Engine.SAMEDIFF})
        for (ModelConfig cfg : new ModelConfig[]{TinyModels.llamaGqa(), TinyModels.gptj()}) {
            Map<String, INDArray> w = TinyModels.randomWeights(cfg, 5);
            LoraConfig lc = LoraConfig.builder().r(2).loraAlpha(4).targetModules("q_proj", "v_proj", "fc_in", "down_proj").build();
            // B != 0 so that A gets a gradient too
            Map<String, INDArray[]> factors = new LinkedHashMap<>();
            LoraModel probe = LoraModel.create(cfg, Weights.of(w), lc, 1);
            Random rnd = new Random(3);
            for (LoraModule m : probe.modules().values()) {
                factors.put(m.name(), new INDArray[]{
                        Nd4j.rand(DataType.FLOAT, m.a().getArr().shape()).subi(0.5),
                        Nd4j.rand(DataType.FLOAT, m.b().getArr().shape()).subi(0.5).muli(0.5)});
            }
            LoraModel model = LoraModel.withFactors(cfg, Weights.of(w), lc, factors);
            List<int[]> rows = new ArrayList<>();
            for (int i = 0; i < 3; i++) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), 12));
            LoraTrainer trainer = new LoraTrainer(model, TrainingOptions.builder().batchSize(3).engine(engine).build());
            TokenBatch batch = new TokenBatch(rows);
            Map<String, INDArray> grads = trainer.gradients(batch);

            double eps = 1e-2;
            int checked = 0;
            for (String name : trainer.trainableVariables()) {
                INDArray p = model.sameDiff().getArrForVarName(name);
                INDArray g = grads.get(name);
                for (int k = 0; k < 4; k++) {
                    long idx = rnd.nextInt((int) p.length());
                    double orig = p.getDouble(idx);
                    p.putScalar(idx, orig + eps);
                    double plus = LoraTrainer.meanLoss(model, rows, 3);
                    p.putScalar(idx, orig - eps);
                    double minus = LoraTrainer.meanLoss(model, rows, 3);
                    p.putScalar(idx, orig);
                    double fd = (plus - minus) / (2 * eps);
                    double an = g.getDouble(idx);
                    double err = Math.abs(fd - an) / Math.max(1e-2, Math.abs(fd) + Math.abs(an));
                    assertTrue(err < 3e-2, engine + " " + cfg.architecture() + " " + name + "[" + idx + "]: analytic " + an + " vs finite difference " + fd);
                    checked++;
                }
            }
            assertTrue(checked >= 16);
        }
    }
}
