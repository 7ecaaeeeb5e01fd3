package org.silora.lora;

import org.nd4j.autodiff.loss.LossReduce;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.graph.CausalLm;

import java.util.List;
import java.util.Map;

/**
 * Next-token cross-entropy over {@value #LABELS} {@code [B, T]} INT and {@value #LABEL_WEIGHTS} {@code [B, T]} (1 for a
 * counted position, 0 for padding). Four named results:
 * <ul>
 *   <li>{@value #TOKEN_NLL} {@code [B·T]}: per-token NLL ({@code sparse_softmax_cross_entropy_loss_with_logits}, no
 *   one-hot array); {@value #NLL_SUM} {@code = Σ w·NLL} and {@value #TOKEN_COUNT} {@code = Σ w} (forward values; their
 *   ratio is the mean loss).</li>
 *   <li>{@value #TRAINING_SUM} {@code = Σ NLL} over every position: what {@link LoraTrainer} differentiates. Padded
 *   positions add a constant (their logits are the output bias: see {@code DecoderGraphBuilder.TOKEN_MASK}), so its
 *   gradient is exactly {@code (Σ w)·∂(mean loss)} for 0/1 weights that mark the tokens. It is the cheapest in
 *   memory: its backward holds two {@code [tokens, vocab]} arrays (131 MB each for 256 tokens of LLaMA-3's 128 256
 *   entries), where a composed {@code log_softmax · one_hot} held six.</li>
 *   <li>{@value #TASK_LOSS} {@code = Σ w·NLL / #(w ≠ 0)} ({@code softmax_cross_entropy_loss},
 *   {@code MEAN_BY_NONZERO_WEIGHT_COUNT}): the mean loss with an exact gradient of its own, the graph's loss variable
 *   for {@code SameDiff.fit}.</li>
 * </ul>
 * M2.1's loss ops ignore the gradient that arrives at their output: {@value #TASK_LOSS} and the sum of
 * {@value #TOKEN_NLL} are right only as the loss itself. Never build on them.
 *
 * <pre>{@code
 * CausalLmLoss.addTo(lm);
 * Map<String, INDArray> out = lm.output(new TokenBatch(rows).placeholders(lm), CausalLmLoss.NLL_SUM, CausalLmLoss.TOKEN_COUNT);
 * double meanNll = out.get(CausalLmLoss.NLL_SUM).getDouble(0) / out.get(CausalLmLoss.TOKEN_COUNT).getDouble(0);
 * }</pre>
 */
public final class CausalLmLoss {

    public static final String LABELS = "labels";
    public static final String LABEL_WEIGHTS = "label_weights";
    public static final String NLL_SUM = "nll_sum";
    public static final String TOKEN_COUNT = "token_count";
    public static final String TASK_LOSS = "task_loss";
    public static final String TOKEN_NLL = "token_nll";
    public static final String TRAINING_SUM = "token_nll_sum";

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

    /**
     * Per-token NLL {@code [N]} of flat logits {@code [N, vocab]} at INT labels {@code [N]}. Its backward ignores the
     * incoming gradient (it is the gradient of the plain sum). SameDiff marks such an op a loss; the graph's loss
     * variables are left as they were.
     */
    public static SDVariable tokenNll(SameDiff sd, String name, SDVariable logits, SDVariable labels) {
        List<String> losses = new java.util.ArrayList<>(sd.getLossVariables());
        SDVariable nll = sd.loss.sparseSoftmaxCrossEntropy(name, logits, labels);
        sd.setLossVariables(losses.toArray(new String[0]));
        return nll;
    }

    /** Adds the loss to the model's graph (once), makes it the graph's loss variable and returns it. */
    public static SDVariable addTo(CausalLm lm) {
        SameDiff sd = lm.sameDiff();
        if (sd.hasVariable(TASK_LOSS)) return sd.getVariable(TASK_LOSS);
        int vocab = lm.config().vocabSize();
        SDVariable labels = sd.placeHolder(LABELS, DataType.INT, -1, -1);
        SDVariable weights = sd.placeHolder(LABEL_WEIGHTS, DataType.FLOAT, -1, -1);
        SDVariable logits = lm.graph().flatLogits();                                  // [N, vocab]
        SDVariable flatLabels = sd.reshape(labels, -1);
        SDVariable w = sd.reshape(weights, -1);
        SDVariable nll = tokenNll(sd, TOKEN_NLL, logits, flatLabels);                // [N]
        sd.sum(TRAINING_SUM, nll);
        sd.sum(NLL_SUM, nll.mul(w));
        sd.sum(TOKEN_COUNT, weights);
        SDVariable oneHot = sd.oneHot(flatLabels, vocab, -1, 1.0, 0.0, DataType.FLOAT);
        SDVariable loss = sd.loss.softmaxCrossEntropy(TASK_LOSS, oneHot, logits, w,
                LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
        sd.setLossVariables(loss);
        return loss;
    }
}
