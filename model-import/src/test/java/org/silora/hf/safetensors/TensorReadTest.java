package org.silora.hf.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Reading a tensor into FLOAT, HALF or BFLOAT16, as stored or transposed, gives exactly the elements a plain-Java
 * decoding of the written bits gives: every combination of file type and target type, shapes that cross the reader's
 * block and row-group boundaries, and widths that are not multiples of its tiles.
 */
class TensorReadTest {

    @TempDir
    Path tmp;

    /** rows × cols, chosen to cross TensorReader.BLOCK (2^20 elements) and TRANSPOSE_ROWS (256) and TILE (16). */
    private static final long[][] SHAPES = {{37, 53}, {1, 1}, {600, 1900}, {5, 300}, {257, 17}, {3000, 1}, {1, 4099}};

    private static float[] values(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-6, 4)));
        v[0] = 0f;
        if (n > 3) {
            v[1] = -0.0f;
            v[2] = 65504f;
            v[3] = 1e-7f;   // a half subnormal
        }
        return v;
    }

    /** What a file of {@code stored} holds for {@code v}, decoded to floats: the values the reader must reproduce. */
    private static float stored(DType stored, float v) {
        return switch (stored) {
            case F32 -> v;
            case F16 -> Convert.halfToFloat(Convert.floatToHalf(v));
            case BF16 -> Convert.bf16ToFloat(Convert.floatToBf16(v));
        };
    }

    /** The target's bits of a file value {@code f} (already in the file's type), as the reader must produce them. */
    private static float target(DataType to, float f) {
        return switch (to) {
            case FLOAT -> f;
            case HALF -> Convert.halfToFloat(Convert.floatToHalf(f));
            case BFLOAT16 -> Convert.bf16ToFloat(Convert.floatToBf16(f));
            default -> throw new IllegalArgumentException();
        };
    }

    @Test
    void everyTypeAndLayoutMatchesPlainJava() {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        List<float[]> data = new ArrayList<>();
        int k = 0;
        for (DType dt : DType.values()) {
            for (long[] shape : SHAPES) {
                float[] v = values((int) (shape[0] * shape[1]), k);
                data.add(v);
                INDArray a = Nd4j.create(v, shape, 'c');
                entries.add(new SafetensorsWriter.Entry("t" + k, dt, shape, () -> a));
                k++;
            }
        }
        Path file = tmp.resolve("t.safetensors");
        SafetensorsWriter.write(file, java.util.Map.of(), entries);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            k = 0;
            for (DType dt : DType.values()) {
                for (long[] shape : SHAPES) {
                    int rows = (int) shape[0];
                    int cols = (int) shape[1];
                    float[] v = data.get(k);
                    for (DataType to : new DataType[]{DataType.FLOAT, DataType.HALF, DataType.BFLOAT16}) {
                        for (boolean transposed : new boolean[]{false, true}) {
                            INDArray got = f.read("t" + k, to, transposed);
                            assertEquals(to, got.dataType());
                            assertArrayEquals(transposed ? new long[]{cols, rows} : shape, got.shape());
                            float[] flat = got.castTo(DataType.FLOAT).dup('c').data().asFloat();
                            float[] want = new float[v.length];
                            for (int r = 0; r < rows; r++) {
                                for (int c = 0; c < cols; c++) {
                                    float x = target(to, stored(dt, v[r * cols + c]));
                                    want[transposed ? c * rows + r : r * cols + c] = x;
                                }
                            }
                            assertArrayEquals(want, flat, 0f, dt + " -> " + to + (transposed ? " transposed " : " ") + rows + "x" + cols);
                        }
                    }
                    k++;
                }
            }
            assertThrows(IllegalArgumentException.class, () -> f.read("t0", DataType.DOUBLE, false));
            assertEquals(Nd4j.create(data.get(0), SHAPES[0], 'c'), f.readFloat("t0"));
        }
    }
}
