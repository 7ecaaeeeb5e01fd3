package org.silora.si;

import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.DecoderInputs;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.CausalLmLoss;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TokenBatch;
import org.silora.lora.TrainingOptions;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Recording through {@code SameDiff.fit} gives the same ω as recording through {@link LoraTrainer}. */
class SameDiffFitListenerTest {

    @Test
    void fitListenerRecordsTheSameOmegaAsTheTrainer() {
        ModelConfig cfg = TinyModels.llamaGqa();
        Map<String, INDArray> base = TinyModels.randomWeights(cfg, 12);
        LoraConfig lc = LoraConfig.builder().r(4).loraAlpha(8).build();
        List<int[]> rows = SiTestData.chain(cfg.vocabSize(), 8, 16, 7, 3, 9);
        List<TokenBatch> batches = List.of(new TokenBatch(rows.subList(0, 4)), new TokenBatch(rows.subList(4, 8)));
        double lr = 3e-3;
        int steps = 6;

        LoraModel a = LoraModel.create(cfg, Weights.of(base), lc, 5);
        LoraTrainer trainer = new LoraTrainer(a, TrainingOptions.builder().learningRate(lr).build());
        SiRecorder viaTrainer = SiRecorder.builder(a).build();
        trainer.addListener(viaTrainer);
        for (int i = 0; i < steps; i++) trainer.step(List.of(batches.get(i % 2)));

        LoraModel b = LoraModel.create(cfg, Weights.of(base), lc, 5);
        CausalLmLoss.addTo(b.lm());
        b.sameDiff().setLossVariables(CausalLmLoss.TASK_LOSS);
        b.sameDiff().setTrainingConfig(TrainingConfig.builder().updater(new Adam(lr))
                .dataSetFeatureMapping(DecoderInputs.INPUT_IDS, DecoderInputs.ATTENTION_BIAS,
                        DecoderInputs.ROPE_COS, DecoderInputs.ROPE_SIN, DecoderInputs.TOKEN_MASK)
                .dataSetLabelMapping(CausalLmLoss.LABELS, CausalLmLoss.LABEL_WEIGHTS).build());
        SiRecorder viaFit = SiRecorder.builder(b).build();
        var listener = viaFit.asSameDiffListener();
        for (int i = 0; i < steps; i++) {
            Map<String, INDArray> ph = batches.get(i % 2).placeholders(b.lm());
            MultiDataSet mds = new MultiDataSet(
                    new INDArray[]{ph.get(DecoderInputs.INPUT_IDS), ph.get(DecoderInputs.ATTENTION_BIAS),
                            ph.get(DecoderInputs.ROPE_COS), ph.get(DecoderInputs.ROPE_SIN),
                            ph.get(DecoderInputs.TOKEN_MASK)},
                    new INDArray[]{ph.get(CausalLmLoss.LABELS), ph.get(CausalLmLoss.LABEL_WEIGHTS)});
            b.sameDiff().fit(mds, listener);
        }
        assertEquals(steps, viaFit.steps());
        for (String m : a.modules().keySet()) {
            INDArray wa = a.modules().get(m).b().getArr();
            INDArray wb = b.modules().get(m).b().getArr();
            assertEquals(0.0, wa.sub(wb).amaxNumber().doubleValue(), 1e-5, "fit and trainer took the same steps for " + m);
            INDArray oa = viaTrainer.omega(m);
            INDArray ob = viaFit.omega(m);
            double scale = oa.amaxNumber().doubleValue();
            assertTrue(scale > 0);
            assertEquals(0.0, oa.sub(ob).amaxNumber().doubleValue(), 1e-3 * scale, m);
        }
        assertEquals(viaTrainer.omegaSum(), viaFit.omegaSum(), 1e-3 * Math.abs(viaTrainer.omegaSum()));
    }
}
