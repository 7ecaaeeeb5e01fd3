package org.silora.hf.gptj;

import org.nd4j.autodiff.samediff.SDVariable;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.graph.DecoderGraphBuilder;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.graph.Rotary;
import org.silora.hf.graph.Weights;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPT-J as Hugging Face's {@code modeling_gptj} computes it: one LayerNorm feeding attention and MLP in
 * parallel, {@code out = x + attn(ln₁(x)) + fc_out(gelu_new(fc_in(ln₁(x))))}, final {@code ln_f},
 * {@code lm_head} with bias. Rotary: {@code rotate_every_two} on the first {@code rotary_dim} dimensions.
 *
 * <pre>{@code
 * CausalLmGraph g = new GptjGraphBuilder(cfg, weights, LinearFactory.BASE).build();
 * }</pre>
 */
public final class GptjGraphBuilder extends DecoderGraphBuilder {

    private final GptjConfig cfg;

    public GptjGraphBuilder(GptjConfig config, Weights weights, LinearFactory linearFactory) {
        super(config, weights, linearFactory);
        this.cfg = config;
    }

    static String layer(int i) {
        return "transformer.h." + i + ".";
    }

    @Override
    protected Map<String, long[]> expectedTensors() {
        long h = cfg.hiddenSize();
        long m = cfg.intermediateSize();
        Map<String, long[]> t = new LinkedHashMap<>();
        t.put("transformer.wte.weight", new long[]{cfg.vocabSize(), h});
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

    @Override
    protected String embeddingName() {
        return "transformer.wte.weight";
    }

    @Override
    protected SDVariable block(int i, SDVariable x) {
        String p = layer(i);
        SDVariable n = layerNorm(p + "ln_1", x, cfg.layerNormEpsilon());
        SDVariable attn = attention(p + "attn.", n, "q_proj", "k_proj", "v_proj", "out_proj", false);
        int hidden = cfg.hiddenSize();
        int inner = cfg.intermediateSize();
        SDVariable mlp = linear(p + "mlp.fc_out", geluNew(linear(p + "mlp.fc_in", n, hidden, inner, true)), inner, hidden, true);
        return x.add(attn).add(mlp);
    }

    @Override
    protected boolean tiedEmbedding() {
        return cfg.tieWordEmbeddings();
    }

    @Override
    protected SDVariable finalNorm(SDVariable x) {
        return layerNorm("transformer.ln_f", x, cfg.layerNormEpsilon());
    }

    @Override
    protected SDVariable lmHead(SDVariable x) {
        return linear("lm_head", x, cfg.hiddenSize(), cfg.vocabSize(),
                cfg.tieWordEmbeddings() ? embeddingName() : "lm_head.weight", constant("lm_head.bias"));
    }

    @Override
    public Rotary rotary() {
        return Rotary.interleaved(cfg.headDim(), cfg.rotaryDim(),
                Rotary.inverseFrequencies(cfg.rotaryDim(), cfg.ropeTheta()));
    }
}
