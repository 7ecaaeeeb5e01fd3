package org.silora.hf.llama;

import org.nd4j.autodiff.samediff.SDVariable;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.graph.BaseWeights;
import org.silora.hf.graph.CausalLmGraph;
import org.silora.hf.graph.DecoderFamily;
import org.silora.hf.graph.DecoderOps;
import org.silora.hf.graph.Rotary;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LLaMA ({@code LlamaForCausalLM}) as Hugging Face's {@code modeling_llama.py} computes it, one method per module of
 * that file: {@code LlamaModel} ({@link #build}: embed, the decoder layers, final RMSNorm, {@code lm_head} or the
 * tied embedding), {@code LlamaDecoderLayer} ({@code h = x + attn(rms₁(x))}, {@code out = h + mlp(rms₂(h))}) and
 * {@code LlamaMLP} ({@code down(silu(gate(x)) · up(x))}). Rotary: {@code rotate_half} with {@code rope_theta} and
 * {@code rope_scaling} applied; attention with grouped key/value heads is {@link DecoderOps#selfAttention}.
 *
 * <pre>{@code
 * CausalLmGraph g = new LlamaGraph(cfg).build(BaseWeights.frozen(weights, LinearFactory.BASE));
 * }</pre>
 */
public final class LlamaGraph implements DecoderFamily {

    private static final String EMBED_TOKENS = "model.embed_tokens.weight";

    private final LlamaConfig cfg;

    public LlamaGraph(LlamaConfig config) {
        this.cfg = config;
    }

    /** {@code LlamaForCausalLM.forward}: every tensor checked first, then each loaded where the pass first uses it. */
    @Override
    public CausalLmGraph build(BaseWeights base) {
        base.weights().require(tensorShapes(), cfg.architecture());
        DecoderOps ops = new DecoderOps(cfg, rotary(), base);
        SDVariable x = ops.embed(EMBED_TOKENS, cfg.tieWordEmbeddings());
        for (int i = 0; i < cfg.numLayers(); i++) {
            x = decoderLayer(ops, layer(i), x);
        }
        x = ops.rmsNorm("model.norm", x, cfg.rmsNormEps());
        x = ops.maskPadding(x);
        SDVariable logits = cfg.tieWordEmbeddings()
                ? ops.linear("lm_head", x, cfg.hiddenSize(), cfg.vocabSize(), EMBED_TOKENS, null)
                : ops.linear("lm_head", x, cfg.hiddenSize(), cfg.vocabSize(), false);
        return ops.logits(logits);
    }

    /** {@code LlamaDecoderLayer.forward}: pre-norm attention and MLP, each added to its residual. */
    private SDVariable decoderLayer(DecoderOps ops, String p, SDVariable x) {
        double eps = cfg.rmsNormEps();
        SDVariable residual = x;
        SDVariable h = ops.rmsNorm(p + "input_layernorm", x, eps);
        h = ops.selfAttention(p + "self_attn.", h, "q_proj", "k_proj", "v_proj", "o_proj", cfg.attentionBias());
        h = residual.add(h);

        residual = h;
        h = ops.rmsNorm(p + "post_attention_layernorm", h, eps);
        return residual.add(mlp(ops, p + "mlp.", h));
    }

    /** {@code LlamaMLP.forward}: {@code down_proj(silu(gate_proj(x)) · up_proj(x))}. */
    private SDVariable mlp(DecoderOps ops, String p, SDVariable x) {
        int hidden = cfg.hiddenSize();
        int inter = cfg.intermediateSize();
        SDVariable gate = ops.silu(ops.linear(p + "gate_proj", x, hidden, inter, cfg.mlpBias()));
        SDVariable up = ops.linear(p + "up_proj", x, hidden, inter, cfg.mlpBias());
        return ops.linear(p + "down_proj", gate.mul(up), inter, hidden, cfg.mlpBias());
    }

    private static String layer(int i) {
        return "model.layers." + i + ".";
    }

    @Override
    public Map<String, long[]> tensorShapes() {
        long h = cfg.hiddenSize();
        long q = (long) cfg.numHeads() * cfg.headDim();
        long kv = (long) cfg.numKeyValueHeads() * cfg.headDim();
        long m = cfg.intermediateSize();
        Map<String, long[]> t = new LinkedHashMap<>();
        t.put(EMBED_TOKENS, new long[]{cfg.vocabSize(), h});
        for (int i = 0; i < cfg.numLayers(); i++) {
            String p = layer(i);
            t.put(p + "input_layernorm.weight", new long[]{h});
            t.put(p + "post_attention_layernorm.weight", new long[]{h});
            linear(t, p + "self_attn.q_proj", q, h, cfg.attentionBias());
            linear(t, p + "self_attn.k_proj", kv, h, cfg.attentionBias());
            linear(t, p + "self_attn.v_proj", kv, h, cfg.attentionBias());
            linear(t, p + "self_attn.o_proj", h, q, cfg.attentionBias());
            linear(t, p + "mlp.gate_proj", m, h, cfg.mlpBias());
            linear(t, p + "mlp.up_proj", m, h, cfg.mlpBias());
            linear(t, p + "mlp.down_proj", h, m, cfg.mlpBias());
        }
        t.put("model.norm.weight", new long[]{h});
        if (!cfg.tieWordEmbeddings()) t.put("lm_head.weight", new long[]{cfg.vocabSize(), h});
        return t;
    }

    private static void linear(Map<String, long[]> t, String name, long out, long in, boolean bias) {
        t.put(name + ".weight", new long[]{out, in});
        if (bias) t.put(name + ".bias", new long[]{out});
    }

    /** {@code LlamaRotaryEmbedding}: {@code rotate_half}, inverse frequencies scaled by {@code rope_scaling}. */
    @Override
    public Rotary rotary() {
        double[] inv = Rotary.inverseFrequencies(cfg.headDim(), cfg.ropeTheta());
        return Rotary.halves(cfg.headDim(), cfg.ropeScaling().scale(inv));
    }
}
