package org.silora.lora;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.graph.CausalLm;

import java.util.List;
import java.util.Map;

/**
 * One batch for causal-LM training: rows of token ids, right-padded to the longest, with next-token labels.
 * A row of n tokens gives n − 1 predictions.
 *
 * @param windows the rows, each at least 2 tokens
 */
public record TokenBatch(List<int[]> windows) {

    public TokenBatch {
        if (windows.isEmpty()) throw new IllegalArgumentException("empty batch");
        for (int[] w : windows) {
            if (w.length < 2) throw new IllegalArgumentException("a training row needs at least 2 tokens, got " + w.length);
        }
        windows = List.copyOf(windows);
    }

    /** Positions that are predicted (and so counted in the loss). */
    public long predictedTokens() {
        long n = 0;
        for (int[] w : windows) n += w.length - 1;
        return n;
    }

    /** Placeholders: the model's inputs, {@code labels} and {@code label_weights}. */
    public Map<String, INDArray> placeholders(CausalLm lm) {
        int b = windows.size();
        int t = 0;
        for (int[] w : windows) t = Math.max(t, w.length - 1);
        int[][] ids = new int[b][t];
        int[][] mask = new int[b][t];
        int[][] labels = new int[b][t];
        float[] weights = new float[b * t];
        boolean padded = false;
        for (int r = 0; r < b; r++) {
            int[] w = windows.get(r);
            for (int j = 0; j < t; j++) {
                if (j < w.length - 1) {
                    ids[r][j] = w[j];
                    labels[r][j] = w[j + 1];
                    mask[r][j] = 1;
                    weights[r * t + j] = 1f;
                } else {
                    padded = true;
                }
            }
        }
        Map<String, INDArray> ph = lm.placeholders(ids, padded ? mask : null);
        ph.put(CausalLmLoss.LABELS, Nd4j.createFromArray(labels).castTo(DataType.INT));
        ph.put(CausalLmLoss.LABEL_WEIGHTS, Nd4j.create(weights, new long[]{b, t}, 'c'));
        return ph;
    }
}
