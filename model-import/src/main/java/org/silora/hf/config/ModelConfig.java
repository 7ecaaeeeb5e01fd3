package org.silora.hf.config;

/**
 * What every supported architecture has in common: enough to size a graph and check a checkpoint.
 *
 * <pre>{@code
 * ModelConfig cfg = ModelConfigs.load(modelDir);
 * if (cfg instanceof LlamaConfig llama) { ... }
 * }</pre>
 */
public sealed interface ModelConfig permits LlamaConfig, GptjConfig {

    /** The Hugging Face class name, e.g. {@code LlamaForCausalLM}. */
    String architecture();

    int vocabSize();

    int hiddenSize();

    int numLayers();

    int numHeads();

    int numKeyValueHeads();

    int headDim();

    /** Width of the MLP's hidden layer. */
    int intermediateSize();

    int maxPositionEmbeddings();

    boolean tieWordEmbeddings();

    /** Number of leading dimensions of each head that rotary embeddings rotate. */
    int rotaryDim();
}
