package org.silora.hf.graph;

import java.util.Map;

/**
 * One decoder-only model family (LLaMA, GPT-J) for one configuration: the tensors its checkpoint holds, its rotary
 * embedding, and its forward pass as a SameDiff graph. Each family is one final class in its own package, built
 * from {@link DecoderOps}; whoever picks the family for a config ({@code org.silora.hf.model.CausalLm}) depends on
 * the family packages, never the other way round.
 *
 * <pre>{@code
 * DecoderFamily llama = new LlamaGraph(cfg);
 * weights.require(llama.tensorShapes(), cfg.architecture());
 * CausalLmGraph g = llama.build(BaseWeights.frozen(weights, LinearFactory.BASE));
 * }</pre>
 */
public interface DecoderFamily {

    /** Every tensor a checkpoint of this config holds, with its shape, in the order the graph uses them. */
    Map<String, long[]> tensorShapes();

    /** The rotary embedding the graph's {@link DecoderInputs#ROPE_COS} and {@link DecoderInputs#ROPE_SIN} hold. */
    Rotary rotary();

    /** The forward pass over {@code base}: token ids in, logits out. */
    CausalLmGraph build(BaseWeights base);
}
