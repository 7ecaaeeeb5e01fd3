package org.silora.lora;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.model.CausalLm;

import java.util.ArrayList;
import java.util.Arrays;
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
        List<int[]> inputs = new ArrayList<>();
        List<int[]> labels = new ArrayList<>();
        List<float[]> weights = new ArrayList<>();
        for (int[] w : windows) {
            inputs.add(Arrays.copyOfRange(w, 0, w.length - 1));
            labels.add(Arrays.copyOfRange(w, 1, w.length));
            float[] ones = new float[w.length - 1];
            Arrays.fill(ones, 1f);
            weights.add(ones);
        }
        return CausalLmLoss.placeholders(lm, inputs, labels, weights, CausalLmLoss.LABELS, CausalLmLoss.LABEL_WEIGHTS);
    }
}
