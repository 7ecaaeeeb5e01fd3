package org.silora.hf.graph;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Base weights held in 16 bits and widened per module at use give the same logits, bit for bit, as FLOAT weights when
 * the checkpoint is in that 16-bit type (widening is exact), with half the memory for every linear weight and the
 * embedding; and close logits when the 16-bit type rounds the checkpoint.
 */
class HalfStorageTest {

    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(TinyModels.llamaGqa(), DType.BF16, DataType.BFLOAT16),
                Arguments.of(TinyModels.llama3Tied(), DType.F16, DataType.HALF),
                Arguments.of(TinyModels.gptj(), DType.F16, DataType.HALF),
                Arguments.of(TinyModels.llamaLinearBias(), DType.BF16, DataType.BFLOAT16));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void sixteenBitStorageGivesTheFloatLogitsExactly(ModelConfig cfg, DType file, DataType storage) throws IOException {
        TinyModels.write(dir, cfg, TinyModels.randomWeights(cfg, 23), file, 1);
        int[][] ids = {TinyModels.randomIds(new Random(4), cfg.vocabSize(), 19), TinyModels.randomIds(new Random(5), cfg.vocabSize(), 19)};
        int[][] mask = new int[2][19];
        for (int j = 0; j < 19; j++) {
            mask[0][j] = 1;
            mask[1][j] = j < 12 ? 1 : 0;   // right padding: the widening must not disturb masked rows either
        }
        try (CausalLm f32 = CausalLm.load(dir); CausalLm half = CausalLm.load(dir, LinearFactory.BASE, storage)) {
            assertEquals(DataType.FLOAT, f32.graph().storage());
            assertEquals(storage, half.graph().storage());
            long narrow = 0;
            for (LinearModule m : half.graph().linears().values()) {
                assertEquals(storage, m.weightT().getArr().dataType(), m.name());
                narrow++;
                // the Hugging Face view of the weight is the same matrix either way
                assertEquals(f32.graph().linears().get(m.name()).weightMatrix(), m.weightMatrix(), m.name());
            }
            assertTrue(narrow >= 7);
            INDArray a = f32.logits(ids, mask);
            INDArray b = half.logits(ids, mask);
            assertArrayEquals(a.data().asFloat(), b.data().asFloat(), 0f, "logits with " + storage + " storage");
            // a second pass reuses the widened copies' memory and gives the same numbers
            assertArrayEquals(a.data().asFloat(), half.logits(ids, mask).data().asFloat(), 0f);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void roundingTheCheckpointTo16BitsStaysClose(ModelConfig cfg, DType file, DataType storage) throws IOException {
        TinyModels.write(dir, cfg, TinyModels.randomWeights(cfg, 29), DType.F32, 1);
        int[][] ids = {TinyModels.randomIds(new Random(6), cfg.vocabSize(), 17)};
        try (CausalLm f32 = CausalLm.load(dir); CausalLm half = CausalLm.load(dir, LinearFactory.BASE, storage)) {
            INDArray a = f32.logits(ids);
            INDArray b = half.logits(ids);
            double scale = a.amaxNumber().doubleValue();
            double diff = a.sub(b).amaxNumber().doubleValue();
            assertTrue(diff > 0, "rounding the weights to " + storage + " changes something");
            assertTrue(diff < (storage == DataType.HALF ? 2e-2 : 1e-1) * scale, "logits differ by " + diff + " of " + scale);
        }
    }
}
