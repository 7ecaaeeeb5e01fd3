package org.silora.lora;

import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraTrainingTest {

    @Test
    void onlyLoraFactorsTrainAndBaseWeightsStayBitIdentical() {
        ModelConfig cfg = TinyModels.llamaGqa();
        LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 1)), LoraConfig.builder().r(4).build(), 7);
        List<String> trainable = new ArrayList<>();
        Map<String, float[]> before = new HashMap<>();
        for (SDVariable v : model.sameDiff().variables()) {
            if (v.getVariableType() == VariableType.VARIABLE) trainable.add(v.name());
            if (v.getVariableType() == VariableType.CONSTANT && v.getArr() != null && v.dataType().isFPType()) {
                before.put(v.name(), v.getArr().dup().data().asFloat());
            }
        }
        assertEquals(4 * cfg.numLayers(), trainable.size(), "A and B of q_proj and v_proj per layer: " + trainable);
        assertTrue(trainable.stream().allMatch(n -> n.endsWith(".lora_A.weight") || n.endsWith(".lora_B.weight")));

        java.util.Random rnd = new java.util.Random(1);
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), 10));
        new LoraTrainer(model, TrainingOptions.builder().batchSize(4).epochs(2).learningRate(1e-2).build()).train(rows, LoraTrainer.Progress.NONE);

        for (Map.Entry<String, float[]> e : before.entrySet()) {
            assertArrayEquals(e.getValue(), model.sameDiff().getVariable(e.getKey()).getArr().data().asFloat(), 0f, e.getKey());
        }
        for (LoraModule m : model.modules().values()) {
            assertTrue(m.b().getArr().norm2Number().doubleValue() > 0, "B of " + m.name() + " moved");
        }
    }

    @Test
    void trainingOnRealTextLowersHeldOutLoss(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        // the repository's own Brown training text (a sibling module's resource, present in every checkout: no skip)
        Path brown = Path.of("../examples/src/main/resources/silora/data/brown-train.jsonl");
        assertTrue(Files.isRegularFile(brown), brown.toAbsolutePath() + " is part of the repository");
        StringBuilder sb = new StringBuilder();
        for (String doc : org.silora.io.TextDocuments.read(brown, 60)) sb.append(doc).append('\n');
        String text = sb.toString();
        BpeTrainer.train(List.of(text), BpeTrainer.Options.gptj(400), tmp);
        int[] ids;
        try (HfTokenizer tok = HfTokenizer.load(tmp)) {
            ids = tok.encode(text);
        }
        ModelConfig cfg = new org.silora.hf.config.GptjConfig(400, 32, 64, 2, 4, 4, 1e-5, 128, false);
        LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 2)),
                LoraConfig.builder().r(8).loraAlpha(16).targetModules("q_proj", "v_proj", "fc_in", "fc_out").build(), 3);
        List<int[]> train = new ArrayList<>();
        List<int[]> heldOut = new ArrayList<>();
        int window = 33;
        for (int i = 0; i + window <= ids.length && heldOut.size() < 16; i += window) {
            int[] w = java.util.Arrays.copyOfRange(ids, i, i + window);
            if (i < ids.length * 0.8) {
                if (train.size() < 64) train.add(w);
            } else {
                heldOut.add(w);
            }
        }
        LoraTrainer trainer = new LoraTrainer(model, TrainingOptions.builder().batchSize(8).epochs(3).learningRate(3e-3).build());
        double before = trainer.meanLoss(heldOut);
        TrainingResult r = trainer.train(train, LoraTrainer.Progress.NONE);
        double after = trainer.meanLoss(heldOut);
        assertEquals(24, r.steps());
        assertTrue(after < before - 0.3, "held-out loss " + before + " -> " + after);
        assertTrue(r.lastLoss() < r.firstLoss(), "training loss " + r.firstLoss() + " -> " + r.lastLoss());
    }

    @Test
    void sameSeedSameAdapter() {
        ModelConfig cfg = TinyModels.gptj();
        float[][] results = new float[2][];
        for (int run = 0; run < 2; run++) {
            LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 1)), LoraConfig.builder().r(2).build(), 11);
            java.util.Random rnd = new java.util.Random(4);
            List<int[]> rows = new ArrayList<>();
            for (int i = 0; i < 6; i++) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), 8));
            new LoraTrainer(model, TrainingOptions.builder().batchSize(2).epochs(1).gradientAccumulation(2).seed(9).build())
                    .train(rows, LoraTrainer.Progress.NONE);
            INDArray b = model.modules().values().iterator().next().b().getArr();
            results[run] = b.data().asFloat();
        }
        assertArrayEquals(results[0], results[1], 0f);
    }
}
