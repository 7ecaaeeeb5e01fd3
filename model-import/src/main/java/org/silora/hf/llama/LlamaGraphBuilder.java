package org.silora.hf.llama;

import org.nd4j.autodiff.samediff.SDVariable;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.graph.DecoderGraphBuilder;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.graph.Rotary;
import org.silora.hf.graph.Weights;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LLaMA as Hugging Face's {@code modeling_llama} computes it: {@code h = x + attn(rms₁(x))},
 * {@code out = h + down(silu(gate(rms₂(h))) · up(rms₂(h)))}, final RMSNorm, {@code lm_head} (or the embedding
 * when tied). Rotary: {@code rotate_half} with {@code rope_theta} and {@code rope_scaling} applied.
 *
 * <pre>{@code
 * CausalLmGraph g = new LlamaGraphBuilder(cfg, weights, LinearFactory.BASE).build();
 * }</pre>
 */
public final class LlamaGraphBuilder extends DecoderGraphBuilder {

    private final LlamaConfig cfg;

    public LlamaGraphBuilder(LlamaConfig config, Weights weights, LinearFactory linearFactory) {
        super(config, weights, linearFactory);
        this.cfg = config;
    }

    static String layer(int i) {
        return "model.layers." + i + ".";
    }

    @Override
    protected Map<String, long[]> expectedTensors() {
        long h = cfg.hiddenSize();
        long q = (long) cfg.numHeads() * cfg.headDim();
        long kv = (long) cfg.numKeyValueHeads() * cfg.headDim();
        long m = cfg.intermediateSize();
        Map<String, long[]> t = new LinkedHashMap<>();
        t.put("model.embed_tokens.weight", new long[]{cfg.vocabSize(), h});
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

    @Override
    protected String embeddingName() {
        return "model.embed_tokens.weight";
    }

    @Override
    protected SDVariable block(int i, SDVariable x) {
        String p = layer(i);
        double eps = cfg.rmsNormEps();
        SDVariable h = x.add(attention(p + "self_attn.", rmsNorm(p + "input_layernorm", x, eps),
                "q_proj", "k_proj", "v_proj", "o_proj", cfg.attentionBias()));
        SDVariable n = rmsNorm(p + "post_attention_layernorm", h, eps);
        int hidden = cfg.hiddenSize();
        int inter = cfg.intermediateSize();
        SDVariable gate = sd.nn.swish(linear(p + "mlp.gate_proj", n, hidden, inter, cfg.mlpBias()));
        SDVariable up = linear(p + "mlp.up_proj", n, hidden, inter, cfg.mlpBias());
        return h.add(linear(p + "mlp.down_proj", gate.mul(up), inter, hidden, cfg.mlpBias()));
    }

    @Override
    protected boolean tiedEmbedding() {
        return cfg.tieWordEmbeddings();
    }

    @Override
    protected SDVariable finalNorm(SDVariable x) {
        return rmsNorm("model.norm", x, cfg.rmsNormEps());
    }

    @Override
    protected SDVariable lmHead(SDVariable x) {
        if (cfg.tieWordEmbeddings()) {
            return linear("lm_head", x, cfg.hiddenSize(), cfg.vocabSize(), embeddingName(), null);
        }
        return linear("lm_head", x, cfg.hiddenSize(), cfg.vocabSize(), false);
    }

    @Override
    public Rotary rotary() {
        double[] inv = Rotary.inverseFrequencies(cfg.headDim(), cfg.ropeTheta());
        return Rotary.halves(cfg.headDim(), cfg.ropeScaling().scale(inv));
    }
}
