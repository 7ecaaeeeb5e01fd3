package org.silora.hf.config;

/**
 * {@code GPTJForCausalLM}: one LayerNorm {@code ln_1} per block feeding attention and MLP in parallel,
 * interleaved ("rotate every two") rotary embeddings on the first {@code rotary_dim} dimensions of each head,
 * {@code gelu_new} MLP with biases, {@code lm_head} with bias. Validated on construction.
 *
 * <pre>{@code
 * GptjConfig cfg = (GptjConfig) ModelConfigs.load(Path.of("models/tiny-gptj"));
 * }</pre>
 */
public record GptjConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                         int rotaryDim, double layerNormEpsilon, int maxPositionEmbeddings,
                         boolean tieWordEmbeddings) implements ModelConfig {

    public static final String ARCHITECTURE = "GPTJForCausalLM";

    public GptjConfig {
        Checks.positive("vocab_size", vocabSize);
        Checks.positive("n_embd", hiddenSize);
        Checks.positive("n_inner", intermediateSize);
        Checks.positive("n_layer", numLayers);
        Checks.positive("n_head", numHeads);
        Checks.positive("n_positions", maxPositionEmbeddings);
        if (hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException("n_embd (" + hiddenSize + ") is not a multiple of n_head (" + numHeads + ")");
        }
        int headDim = hiddenSize / numHeads;
        if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("rotary_dim must be even and in 1.." + headDim + " (the head size), got " + rotaryDim);
        }
        if (!(layerNormEpsilon > 0) || layerNormEpsilon >= 1) {
            throw new IllegalArgumentException("layer_norm_epsilon must be in (0, 1), got " + layerNormEpsilon);
        }
    }

    @Override
    public String architecture() {
        return ARCHITECTURE;
    }

    @Override
    public int numKeyValueHeads() {
        return numHeads;
    }

    @Override
    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** GPT-J's rotary base, fixed in the Hugging Face implementation. */
    public double ropeTheta() {
        return 10000.0;
    }
}
