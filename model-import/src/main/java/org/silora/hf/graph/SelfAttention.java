package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.ModelConfig;

import java.util.HashMap;
import java.util.Map;

/**
 * Causal self-attention of one graph, as both families' attention modules compute it: query/key/value projections
 * through the named linear modules, rotary on queries and keys, grouped key/value heads (Hugging Face's
 * {@code repeat_kv}) without copying them, additive attention bias (causal and padding), softmax, output projection.
 * Reached through {@link DecoderOps#selfAttention}; it remembers, per graph, the rotary tables and the attention bias
 * tiled to the layouts it needs, so each is tiled once however many layers use it.
 */
final class SelfAttention {

    private final DecoderOps ops;
    private final DecoderInputs inputs;
    private final ModelConfig config;
    private final SDVariable rotation;
    private final SDVariable rotationBias;
    private final Map<Integer, SDVariable[]> ropeTiled = new HashMap<>();
    private final Map<Integer, SDVariable> biasTiled = new HashMap<>();

    SelfAttention(DecoderOps ops, DecoderInputs inputs, Rotary rotary, ModelConfig config) {
        this.ops = ops;
        this.inputs = inputs;
        this.config = config;
        SameDiff sd = ops.sd();
        this.rotation = sd.constant("rope_rotation", rotary.rotation());   // x·R: already [in, out]
        this.rotationBias = sd.constant("rope_rotation_bias", Nd4j.zeros(DataType.FLOAT, config.headDim()));
    }

    /** Attention on {@code x [tokens, hidden]} through the modules {@code prefix + q}, ...: {@code [tokens, hidden]}. */
    SDVariable apply(String prefix, SDVariable x, String q, String k, String v, String o, boolean bias) {
        SameDiff sd = ops.sd();
        int hidden = config.hiddenSize();
        int heads = config.numHeads();
        int kvHeads = config.numKeyValueHeads();
        int d = config.headDim();
        int groups = heads / kvHeads;

        // queries carry the 1/√d of the scores in their rotary tables (one multiply per graph, not per layer)
        SDVariable qh = rope(split(ops.linear(prefix + q, x, hidden, heads * d, bias), heads), heads, true);   // [B,T,H,D]
        SDVariable kh = rope(split(ops.linear(prefix + k, x, hidden, kvHeads * d, bias), kvHeads), kvHeads, false);
        SDVariable vh = split(ops.linear(prefix + v, x, hidden, kvHeads * d, bias), kvHeads);

        qh = sd.permute(qh, 0, 2, 1, 3);   // [B,H,T,D]
        kh = sd.permute(kh, 0, 2, 1, 3);   // [B,KV,T,D]
        vh = sd.permute(vh, 0, 2, 1, 3);
        if (groups > 1) {
            // head h uses key/value head h / groups (HF repeat_kv): fold the group into the query rows, and keep the
            // scores in that layout, with the bias tiled to it once per graph
            qh = sd.reshape(qh, ops.shape(ops.batch, ops.lit(kvHeads), ops.seq.mul(groups), ops.lit(d)));
        }
        SDVariable scores = sd.mmul(qh, kh, false, true, false);               // [B,KV,G*T,T], already scaled
        SDVariable probs = sd.nn.softmax(scores.add(biasFor(groups)), -1);
        SDVariable ctx = sd.mmul(probs, vh);                                     // [B,KV,G*T,D]
        if (groups > 1) ctx = sd.reshape(ctx, ops.shape(ops.batch, ops.lit(heads), ops.seq, ops.lit(d)));
        ctx = sd.reshape(sd.permute(ctx, 0, 2, 1, 3), -1, (long) heads * d);     // [tokens, H*D]
        return ops.linear(prefix + o, ctx, heads * d, hidden, bias);
    }

    /** The attention bias for scores in the folded layout {@code [B, KV, G·T, T]}: tiled over the group once. */
    private SDVariable biasFor(int groups) {
        if (groups == 1) return inputs.attentionBias;
        return biasTiled.computeIfAbsent(groups, g -> ops.sd().tile(inputs.attentionBias, 1, 1, g, 1));
    }

    /** {@code [tokens, n·D]} → {@code [B, T, n, D]}. */
    private SDVariable split(SDVariable x, int n) {
        return ops.sd().reshape(x, ops.shape(ops.batch, ops.seq, ops.lit(n), ops.lit(config.headDim())));
    }

    /**
     * {@code x·cos + (x·R)·sin} on {@code [B, T, n, D]}; for queries the tables carry the scores' {@code 1/√d}. The
     * {@code [B, T, 1, D]} tables are tiled to the full {@code [B, T, n, D]} once per graph and head count: multiplying
     * by a broadcast table made every backward pass reduce a gradient for the table over the heads (M2.1's broadcast
     * {@code multiply_bp}), which nobody needs and which cost 15 % of a d 512 LoRA step.
     */
    private SDVariable rope(SDVariable x, int n, boolean query) {
        SameDiff sd = ops.sd();
        SDVariable[] t = ropeTiled.computeIfAbsent(query ? -n : n, key -> {
            SDVariable c = n == 1 ? inputs.ropeCos : sd.tile(inputs.ropeCos, 1, 1, n, 1);
            SDVariable si = n == 1 ? inputs.ropeSin : sd.tile(inputs.ropeSin, 1, 1, n, 1);
            if (!query) return new SDVariable[]{c, si};
            double scale = 1.0 / Math.sqrt(config.headDim());
            return new SDVariable[]{c.mul(scale), si.mul(scale)};
        });
        SDVariable rotated = sd.reshape(sd.nn.linear(sd.reshape(x, -1, config.headDim()), rotation, rotationBias), sd.shape(x));
        return x.mul(t[0]).add(rotated.mul(t[1]));
    }
}
