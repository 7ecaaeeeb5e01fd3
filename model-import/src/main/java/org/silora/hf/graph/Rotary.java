package org.silora.hf.graph;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rotary position embeddings in the one form both families share: {@code x·cos + (x·R)·sin}, with {@code R} a
 * constant signed permutation and the cos/sin tables laid out over the whole head. LLaMA rotates halves
 * ({@code rotate_half}); GPT-J rotates interleaved pairs ({@code rotate_every_two}) of the first
 * {@code rotary_dim} dimensions, where the tables hold cos = 1, sin = 0 beyond {@code rotary_dim} so those
 * dimensions pass through unchanged (exactly: {@code x·1 + 0}).
 *
 * <pre>{@code
 * Rotary rope = Rotary.halves(64, invFreq);          // LLaMA
 * INDArray[] cosSin = rope.tables(positions);         // [B, T, 1, head_dim] each
 * }</pre>
 */
public final class Rotary {

    private final int headDim;
    private final int rotaryDim;
    private final double[] invFreq;
    private final boolean interleaved;

    private Rotary(int headDim, int rotaryDim, double[] invFreq, boolean interleaved) {
        if (rotaryDim > headDim || rotaryDim % 2 != 0 || invFreq.length != rotaryDim / 2) {
            throw new IllegalArgumentException("rotary sizes do not fit: head " + headDim + ", rotary " + rotaryDim
                    + ", " + invFreq.length + " frequencies");
        }
        this.headDim = headDim;
        this.rotaryDim = rotaryDim;
        this.invFreq = invFreq.clone();
        this.interleaved = interleaved;
    }

    /** LLaMA: {@code rotate_half} over the whole head. */
    public static Rotary halves(int headDim, double[] invFreq) {
        return new Rotary(headDim, headDim, invFreq, false);
    }

    /** GPT-J: {@code rotate_every_two} over the first {@code rotaryDim} dimensions. */
    public static Rotary interleaved(int headDim, int rotaryDim, double[] invFreq) {
        return new Rotary(headDim, rotaryDim, invFreq, true);
    }

    /** {@code 1 / theta^(2i/dim)} for i in [0, dim/2), the unscaled inverse frequencies. */
    public static double[] inverseFrequencies(int dim, double theta) {
        double[] f = new double[dim / 2];
        for (int i = 0; i < f.length; i++) f[i] = 1.0 / Math.pow(theta, (2.0 * i) / dim);
        return f;
    }

    public int headDim() {
        return headDim;
    }

    /** {@code R} with {@code rotate(x) = x·R}, {@code [head_dim, head_dim]}. */
    public INDArray rotation() {
        float[][] r = new float[headDim][headDim];
        if (interleaved) {
            for (int i = 0; i + 1 < rotaryDim; i += 2) {
                r[i + 1][i] = -1f;   // y[2i]   = -x[2i+1]
                r[i][i + 1] = 1f;    // y[2i+1] =  x[2i]
            }
        } else {
            int h = headDim / 2;
            for (int j = 0; j < h; j++) {
                r[j + h][j] = -1f;   // y[j]     = -x[j+h]
                r[j][j + h] = 1f;    // y[j+h]   =  x[j]
            }
        }
        return Nd4j.create(r);
    }

    /** Frequency index used by head dimension {@code j}, or -1 for a dimension that is not rotated. */
    private int frequencyOf(int j) {
        if (j >= rotaryDim) return -1;
        return interleaved ? j / 2 : j % (headDim / 2);
    }

    /**
     * cos and sin tables for the given positions, each {@code [B, T, 1, head_dim]} (broadcast over heads).
     */
    public INDArray[] tables(int[][] positions) {
        int b = positions.length;
        int t = positions[0].length;
        float[] cos = new float[b * t * headDim];
        float[] sin = new float[b * t * headDim];
        int k = 0;
        for (int[] row : positions) {
            if (row.length != t) throw new IllegalArgumentException("ragged positions");
            for (int p : row) {
                for (int j = 0; j < headDim; j++, k++) {
                    int f = frequencyOf(j);
                    if (f < 0) {
                        cos[k] = 1f;
                        sin[k] = 0f;
                    } else {
                        // float32 angle, as torch computes inv_freq * position in float32
                        float angle = (float) invFreq[f] * (float) p;
                        cos[k] = (float) Math.cos(angle);
                        sin[k] = (float) Math.sin(angle);
                    }
                }
            }
        }
        long[] shape = {b, t, 1, headDim};
        return new INDArray[]{Nd4j.create(cos, shape, 'c').castTo(DataType.FLOAT),
                Nd4j.create(sin, shape, 'c').castTo(DataType.FLOAT)};
    }
}
