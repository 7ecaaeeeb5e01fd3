package org.silora.hf.gptj;

import org.nd4j.autodiff.samediff.SDVariable;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.graph.BaseWeights;
import org.silora.hf.graph.CausalLmGraph;
import org.silora.hf.graph.DecoderFamily;
import org.silora.hf.graph.DecoderOps;
import org.silora.hf.graph.Rotary;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPT-J ({@code GPTJForCausalLM}) as Hugging Face's {@code modeling_gptj.py} computes it, one method per module of
 * that file: {@code GPTJModel} ({@link #build}: embed, the blocks, final {@code ln_f}, {@code lm_head} with bias),
 * {@code GPTJBlock} (one LayerNorm feeding attention and MLP in parallel:
 * {@code out = x + attn(ln₁(x)) + mlp(ln₁(x))}) and {@code GPTJMLP} ({@code fc_out(gelu_new(fc_in(x)))}). Rotary:
 * {@code rotate_every_two} on the first {@code rotary_dim} dimensions; attention is
 * {@link DecoderOps#selfAttention}.
 *
 * <pre>{@code
 * CausalLmGraph g = new GptjGraph(cfg).build(BaseWeights.frozen(weights, LinearFactory.BASE));
 * }</pre>
 */
public final class GptjGraph implements DecoderFamily {

    private static final String WTE = "transformer.wte.weight";

    private final GptjConfig cfg;

    public GptjGraph(GptjConfig config) {
        this.cfg = config;
    }

    /** {@code GPTJForCausalLM.forward}: every tensor checked first, then each loaded where the pass first uses it. */
    @Override
    public CausalLmGraph build(BaseWeights base) {
        base.weights().require(tensorShapes(), cfg.architecture());
        DecoderOps ops = new DecoderOps(cfg, rotary(), base);
        SDVariable x = ops.embed(WTE, cfg.tieWordEmbeddings());
        for (int i = 0; i < cfg.numLayers(); i++) {
            x = block(ops, layer(i), x);
        }
        x = ops.layerNorm("transformer.ln_f", x, cfg.layerNormEpsilon());
        x = ops.maskPadding(x);
        SDVariable logits = ops.linear("lm_head", x, cfg.hiddenSize(), cfg.vocabSize(),
                cfg.tieWordEmbeddings() ? WTE : "lm_head.weight", ops.constant("lm_head.bias"));
        return ops.logits(logits);
    }

    /** {@code GPTJBlock.forward}: attention and MLP read the same normed input; both are added to the residual. */
    private SDVariable block(DecoderOps ops, String p, SDVariable x) {
        SDVariable residual = x;
        SDVariable h = ops.layerNorm(p + "ln_1", x, cfg.layerNormEpsilon());
        SDVariable attn = ops.selfAttention(p + "attn.", h, "q_proj", "k_proj", "v_proj", "out_proj", false);
        SDVariable feedForward = mlp(ops, p + "mlp.", h);
        return residual.add(attn).add(feedForward);
    }

    /** {@code GPTJMLP.forward}: {@code fc_out(gelu_new(fc_in(x)))}. */
    private SDVariable mlp(DecoderOps ops, String p, SDVariable x) {
        int hidden = cfg.hiddenSize();
        int inner = cfg.intermediateSize();
        SDVariable h = ops.linear(p + "fc_in", x, hidden, inner, true);
        h = ops.geluNew(h);
        return ops.linear(p + "fc_out", h, inner, hidden, true);
    }

    private static String layer(int i) {
        return "transformer.h." + i + ".";
    }

    @Override
    public Map<String, long[]> tensorShapes() {
        long h = cfg.hiddenSize();
        long m = cfg.intermediateSize();
        Map<String, long[]> t = new LinkedHashMap<>();
        t.put(WTE, new long[]{cfg.vocabSize(), h});
        for (int i = 0; i < cfg.numLayers(); i++) {
            String p = layer(i);
            t.put(p + "ln_1.weight", new long[]{h});
            t.put(p + "ln_1.bias", new long[]{h});
            for (String proj : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
                t.put(p + "attn." + proj + ".weight", new long[]{h, h});
            }
            t.put(p + "mlp.fc_in.weight", new long[]{m, h});
            t.put(p + "mlp.fc_in.bias", new long[]{m});
            t.put(p + "mlp.fc_out.weight", new long[]{h, m});
            t.put(p + "mlp.fc_out.bias", new long[]{h});
        }
        t.put("transformer.ln_f.weight", new long[]{h});
        t.put("transformer.ln_f.bias", new long[]{h});
        if (!cfg.tieWordEmbeddings()) t.put("lm_head.weight", new long[]{cfg.vocabSize(), h});
        t.put("lm_head.bias", new long[]{cfg.vocabSize()});
        return t;
    }

    /** {@code GPTJAttention}'s rotary: {@code rotate_every_two} on the first {@code rotary_dim} dimensions. */
    @Override
    public Rotary rotary() {
        return Rotary.interleaved(cfg.headDim(), cfg.rotaryDim(),
                Rotary.inverseFrequencies(cfg.rotaryDim(), cfg.ropeTheta()));
    }
}
