package org.silora.lora;

import org.nd4j.autodiff.loss.LossReduce;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.silora.hf.model.CausalLm;

import java.util.List;
import java.util.Map;

/**
 * Next-token cross-entropy over {@value #LABELS} {@code [B, T]} INT and {@value #LABEL_WEIGHTS} {@code [B, T]} (1 for a
 * counted position, 0 for padding).
 *
 * <p>In the graph: {@value #TRAINING_SUM}, the sum over every position of {@code sparse_softmax_cross_entropy} (no
 * one-hot array): what {@link LoraTrainer} differentiates. Padded positions add a constant (their logits are the output
 * bias: see {@code DecoderInputs.TOKEN_MASK}), so its gradient is exactly {@code (Σ w)·∂(mean loss)} for 0/1
 * weights that mark the tokens; its backward holds two {@code [tokens, vocab]} arrays (131 MB each for 256 tokens of
 * LLaMA-3's 128 256 entries) where a composed {@code log_softmax · one_hot} held six. And {@value #TASK_LOSS}, the
 * weighted mean as {@code softmax_cross_entropy_loss} with {@code MEAN_BY_NONZERO_WEIGHT_COUNT}: a loss variable with
 * an exact gradient of its own, for {@code SameDiff.fit}. M2.1's loss ops ignore the gradient that arrives at their
 * output (right here only because these outputs are the losses themselves: never build on them), and their values
 * overflow to infinity when a row's logits span more than ~88 (they take the log of a softmax that underflowed).
 *
 * <p>Values are therefore computed from the logits in Java, by {@link #nll}: a max-shifted log-sum-exp, in blocks of
 * rows, with one block's temporary at a time.
 *
 * <pre>{@code
 * CausalLmLoss.addTo(lm);
 * double meanNll = LoraTrainer.meanLoss(lm, rows, 8);
 * }</pre>
 */
public final class CausalLmLoss {

    public static final String LABELS = "labels";
    public static final String LABEL_WEIGHTS = "label_weights";
    public static final String TASK_LOSS = "task_loss";
    public static final String TOKEN_NLL = "token_nll";
    public static final String TRAINING_SUM = "token_nll_sum";
    /** Rows of logits turned into NLL at once by {@link #nll}. */
    static final int NLL_BLOCK = 64;

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
     * {@code −log softmax(logits[n])[labels[n]]} for every row {@code n} of {@code logits [N, vocab]} (any float type),
     * stably: {@code max + log Σ exp(z − max) − z[label]}, a block of {@value #NLL_BLOCK} rows at a time.
     *
     * <pre>{@code
     * double[] nll = CausalLmLoss.nll(out.get(lm.graph().flatLogits().name()), labels);
     * }</pre>
     */
    public static double[] nll(INDArray logits, int[] labels) {
        if (logits.rank() != 2 || logits.size(0) != labels.length) {
            throw new IllegalArgumentException("logits " + java.util.Arrays.toString(logits.shape()) + " for " + labels.length + " labels");
        }
        int n = labels.length;
        long vocab = logits.size(1);
        double[] out = new double[n];
        for (int r0 = 0; r0 < n; r0 += NLL_BLOCK) {
            int r1 = Math.min(n, r0 + NLL_BLOCK);
            INDArray z = logits.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all());
            if (z.dataType() != DataType.FLOAT) z = z.castTo(DataType.FLOAT);
            INDArray max = z.max(1);                                                 // [k]
            INDArray e = Transforms.exp(z.subColumnVector(max.reshape(r1 - r0, 1)), false);
            INDArray sum = e.sum(1);
            for (int r = r0; r < r1; r++) {
                int label = labels[r];
                if (label < 0 || label >= vocab) throw new IllegalArgumentException("label " + label + " outside the vocabulary");
                double m = max.getDouble(r - r0);
                out[r] = m + Math.log(sum.getDouble(r - r0)) - z.getDouble(r - r0, label);
            }
            e.close();
        }
        return out;
    }

    /** {Σ w·NLL, Σ w} of one batch's flat logits at its labels and weights (placeholders {@code [B, T]}). */
    public static double[] nllSum(INDArray logits, INDArray labels, INDArray weights) {
        int[] lab = labels.reshape(-1).toIntVector();
        float[] w = weights.reshape(-1).toFloatVector();
        double[] nll = nll(logits, lab);
        double sum = 0;
        double count = 0;
        for (int i = 0; i < nll.length; i++) {
            if (w[i] == 0) continue;
            sum += w[i] * nll[i];
            count += w[i];
        }
        return new double[]{sum, count};
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
        SDVariable oneHot = sd.oneHot(flatLabels, vocab, -1, 1.0, 0.0, DataType.FLOAT);
        SDVariable loss = sd.loss.softmaxCrossEntropy(TASK_LOSS, oneHot, logits, w,
                LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
        sd.setLossVariables(loss);
        return loss;
    }
}
