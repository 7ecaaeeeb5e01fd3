package org.silora.lora;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.silora.hf.graph.CausalLm;

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
