package org.silora.hf.graph;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.hf.testing.ReferenceForward;
import org.silora.hf.testing.TinyModels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints on disk (F32, F16, BF16; single and sharded) import to graphs whose logits equal the independent
 * reference forward run on the same stored values.
 */
class CheckpointImportTest {

    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(TinyModels.llamaGqa(), DType.F32, 1),
                Arguments.of(TinyModels.llamaGqa(), DType.BF16, 3),
                Arguments.of(TinyModels.llama3Tied(), DType.F16, 1),
                Arguments.of(TinyModels.llama3Tied(), DType.F32, 2),
                Arguments.of(TinyModels.llamaLinearBias(), DType.BF16, 1),
                Arguments.of(TinyModels.gptj(), DType.F32, 1),
                Arguments.of(TinyModels.gptj(), DType.F16, 2),
                Arguments.of(TinyModels.gptj(), DType.BF16, 1));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void storedCheckpointMatchesReference(ModelConfig cfg, DType dtype, int shards) throws IOException {
        TinyModels.write(dir, cfg, TinyModels.randomWeights(cfg, 17), dtype, shards);
        Map<String, INDArray> stored = new LinkedHashMap<>();
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            for (String n : ckpt.names()) stored.put(n, ckpt.readFloat(n));
        }
        CausalLm lm = CausalLm.load(dir);
        int[] ids = TinyModels.randomIds(new Random(5), cfg.vocabSize(), 33);
        INDArray logits = lm.logits(new int[][]{ids});
        GraphMatchesReferenceTest.assertClose(new ReferenceForward(cfg, stored).logits(ids), logits, 0, 1e-4);
    }

    @Test
    void missingTensorIsAOneLineError() throws IOException {
        ModelConfig cfg = TinyModels.llamaGqa();
        Map<String, INDArray> w = TinyModels.randomWeights(cfg, 1);
        w.remove("model.layers.1.mlp.up_proj.weight");
        TinyModels.write(dir, cfg, w, DType.F32, 1);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CausalLm.load(dir));
        assertTrue(e.getMessage().contains("missing tensor 'model.layers.1.mlp.up_proj.weight'"), e.getMessage());
    }

    @Test
    void wrongShapeIsAOneLineError() throws IOException {
        ModelConfig cfg = TinyModels.gptj();
        Map<String, INDArray> w = TinyModels.randomWeights(cfg, 1);
        w.put("transformer.h.0.attn.q_proj.weight", w.get("transformer.h.0.attn.q_proj.weight").get(
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 8), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup());
        TinyModels.write(dir, cfg, w, DType.F32, 1);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CausalLm.load(dir));
        assertTrue(e.getMessage().contains("'transformer.h.0.attn.q_proj.weight' has shape [8, 16], config.json implies [16, 16]"), e.getMessage());
    }

    @Test
    void folderWithoutWeightsIsAClearError() throws IOException {
        Files.writeString(dir.resolve("config.json"), org.silora.hf.config.ModelConfigs.toJson(TinyModels.gptj()));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CausalLm.load(dir));
        assertTrue(e.getMessage().contains("no model.safetensors"), e.getMessage());
    }
}
