package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The placeholders of a decoder graph and the names its inputs are filled by: {@value #INPUT_IDS} {@code [B, T]}
 * INT, {@value #ATTENTION_BIAS} {@code [B, 1, T, T]} (0 where a query may attend, a large negative number
 * elsewhere), {@value #ROPE_COS} and {@value #ROPE_SIN} {@code [B, T, 1, head_dim]}, {@value #TOKEN_MASK}
 * {@code [B, T]} (1 for a token, 0 for padding: padded positions' logits are the output bias alone). The output is
 * {@value #LOGITS} {@code [B, T, vocab]}. {@code CausalLm.placeholders} fills them.
 *
 * <pre>{@code
 * INDArray logits = lm.output(lm.placeholders(ids, null), DecoderInputs.LOGITS).get(DecoderInputs.LOGITS);
 * }</pre>
 */
public final class DecoderInputs {

    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_BIAS = "attention_bias";
    public static final String ROPE_COS = "rope_cos";
    public static final String ROPE_SIN = "rope_sin";
    public static final String TOKEN_MASK = "token_mask";
    public static final String LOGITS = "logits";

    final SDVariable ids;
    final SDVariable attentionBias;
    final SDVariable ropeCos;
    final SDVariable ropeSin;
    final SDVariable tokenMask;

    private DecoderInputs(SameDiff sd, int headDim) {
        ids = sd.placeHolder(INPUT_IDS, DataType.INT, -1, -1);
        attentionBias = sd.placeHolder(ATTENTION_BIAS, DataType.FLOAT, -1, 1, -1, -1);
        ropeCos = sd.placeHolder(ROPE_COS, DataType.FLOAT, -1, -1, 1, headDim);
        ropeSin = sd.placeHolder(ROPE_SIN, DataType.FLOAT, -1, -1, 1, headDim);
        tokenMask = sd.placeHolder(TOKEN_MASK, DataType.FLOAT, -1, -1);
    }

    /** Declares the placeholders in {@code sd}. */
    static DecoderInputs declare(SameDiff sd, int headDim) {
        return new DecoderInputs(sd, headDim);
    }
}
