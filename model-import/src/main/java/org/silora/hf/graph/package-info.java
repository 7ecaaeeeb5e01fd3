/**
 * How a decoder-only Hugging Face model becomes a SameDiff graph: the ops both families are written in
 * ({@link org.silora.hf.graph.DecoderOps}, with {@code SelfAttention} for grouped-query attention
 * and {@link org.silora.hf.graph.Rotary} for rotary tables), the graph's inputs
 * ({@link org.silora.hf.graph.DecoderInputs}), the base weights and how they are held
 * ({@link org.silora.hf.graph.Weights}, {@link org.silora.hf.graph.BaseWeights}), the named linear modules LoRA targets
 * ({@link org.silora.hf.graph.LinearModule}, {@link org.silora.hf.graph.LinearFactory}), what a family provides
 * ({@link org.silora.hf.graph.DecoderFamily}) and the built graph ({@link org.silora.hf.graph.CausalLmGraph}).
 *
 * <p>Depends on no family: {@code org.silora.hf.llama} and {@code org.silora.hf.gptj} depend on it, and
 * {@code org.silora.hf.model} (the runnable {@code CausalLm}) picks the family for a config.
 */
package org.silora.hf.graph;
