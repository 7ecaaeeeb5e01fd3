package org.silora.lora;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.graph.CausalLm;

import java.util.List;
import java.util.Map;

/**
 * Next-token cross-entropy composed from ops that really backpropagate (M2.1's {@code sd.loss.*} ops ignore
 * their incoming gradient): {@code L = −Σ w·log_softmax(logits)[label] / Σ w} over {@value #LABELS}
 * {@code [B, T]} INT and {@value #LABEL_WEIGHTS} {@code [B, T]} (1 for a counted position, 0 for padding).
 *
 * <p>The sum {@value #NLL_SUM} and the count {@value #TOKEN_COUNT} are separate named variables: the
 * division's backprop consumes both, so a listener sees their values during {@code fit} (M2.1 reports 0.0 for
 * a loss nothing consumes), and the true loss is their ratio.
 */
public final class CausalLmLoss {

    public static final String LABELS = "labels";
    public static final String LABEL_WEIGHTS = "label_weights";
    public static final String NLL_SUM = "nll_sum";
    public static final String TOKEN_COUNT = "token_count";
    public static final String TASK_LOSS = "task_loss";

    private CausalLmLoss() {
    }

    /**
     * Placeholders for a batch of rows, right-padded to the longest: the model's inputs (with a padding mask when
     * rows differ in length), per-position labels under {@code labelsName} and weights under {@code weightsName}
     * (0 at padding). The one place where token rows become a padded batch, for training, the Fisher and scoring.
     */
    public static Map<String, INDArray> placeholders(CausalLm lm, List<int[]> inputs, List<int[]> labels,
                                                     List<float[]> weights, String labelsName, String weightsName) {
        int b = inputs.size();
        int t = 0;
        for (int[] in : inputs) t = Math.max(t, in.length);
        int[][] ids = new int[b][t];
        int[][] mask = new int[b][t];
        int[][] lab = new int[b][t];
        float[] w = new float[b * t];
        boolean padded = false;
        for (int r = 0; r < b; r++) {
            int n = inputs.get(r).length;
            if (labels.get(r).length != n || weights.get(r).length != n) {
                throw new IllegalArgumentException("row " + r + ": inputs, labels and weights differ in length");
            }
            System.arraycopy(inputs.get(r), 0, ids[r], 0, n);
            System.arraycopy(labels.get(r), 0, lab[r], 0, n);
            System.arraycopy(weights.get(r), 0, w, r * t, n);
            java.util.Arrays.fill(mask[r], 0, n, 1);
            padded |= n < t;
        }
        Map<String, INDArray> ph = lm.placeholders(ids, padded ? mask : null);
        ph.put(labelsName, Nd4j.createFromArray(lab).castTo(DataType.INT));
        ph.put(weightsName, Nd4j.create(w, new long[]{b, t}, 'c'));
        return ph;
    }

    /** Adds the loss to the model's graph (once) and returns it. */
    public static SDVariable addTo(CausalLm lm) {
        SameDiff sd = lm.sameDiff();
        if (sd.hasVariable(TASK_LOSS)) return sd.getVariable(TASK_LOSS);
        int vocab = lm.config().vocabSize();
        SDVariable labels = sd.placeHolder(LABELS, DataType.INT, -1, -1);
        SDVariable weights = sd.placeHolder(LABEL_WEIGHTS, DataType.FLOAT, -1, -1);
        SDVariable logits = sd.reshape(lm.graph().logits(), -1, vocab);
        SDVariable logProbs = sd.nn.logSoftmax(logits);
        SDVariable oneHot = sd.oneHot(sd.reshape(labels, -1), vocab, -1, 1.0, 0.0, DataType.FLOAT);
        SDVariable tokenLogProb = sd.sum(logProbs.mul(oneHot), true, 1);           // [N, 1]
        SDVariable w = sd.reshape(weights, -1, 1);
        SDVariable nllSum = sd.sum(tokenLogProb.mul(w)).neg(NLL_SUM);
        SDVariable count = sd.sum(TOKEN_COUNT, weights);
        return nllSum.div(TASK_LOSS, count);
    }
}
