package org.silora.hf.config;

/**
 * {@code LlamaForCausalLM} (LLaMA 1/2/3/3.1/3.2): RMSNorm pre-norm blocks, grouped-query attention with
 * rotate-half rotary embeddings over the whole head, SwiGLU MLP. Validated on construction.
 *
 * <pre>{@code
 * LlamaConfig cfg = (LlamaConfig) ModelConfigs.load(Path.of("models/tiny-llama"));
 * int groups = cfg.numHeads() / cfg.numKeyValueHeads();
 * }</pre>
 */
public record LlamaConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                          int numKeyValueHeads, int headDim, double rmsNormEps, double ropeTheta,
                          RopeScaling ropeScaling, int maxPositionEmbeddings, boolean tieWordEmbeddings,
                          boolean attentionBias, boolean mlpBias) implements ModelConfig {

    public static final String ARCHITECTURE = "LlamaForCausalLM";

    public LlamaConfig {
        Checks.positive("vocab_size", vocabSize);
        Checks.positive("hidden_size", hiddenSize);
        Checks.positive("intermediate_size", intermediateSize);
        Checks.positive("num_hidden_layers", numLayers);
        Checks.positive("num_attention_heads", numHeads);
        Checks.positive("num_key_value_heads", numKeyValueHeads);
        Checks.positive("head_dim", headDim);
        Checks.positive("max_position_embeddings", maxPositionEmbeddings);
        if (numHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads
                    + ") is not a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for rotary embeddings, got " + headDim);
        if (!(rmsNormEps > 0) || rmsNormEps >= 1) throw new IllegalArgumentException("rms_norm_eps must be in (0, 1), got " + rmsNormEps);
        if (!(ropeTheta > 1) || Double.isInfinite(ropeTheta)) throw new IllegalArgumentException("rope_theta must be > 1, got " + ropeTheta);
        if (ropeScaling == null) ropeScaling = RopeScaling.NONE;
    }

    @Override
    public String architecture() {
        return ARCHITECTURE;
    }

    @Override
    public int rotaryDim() {
        return headDim;
    }

    /** Query heads that share one key/value head. */
    public int groups() {
        return numHeads / numKeyValueHeads;
    }
}
