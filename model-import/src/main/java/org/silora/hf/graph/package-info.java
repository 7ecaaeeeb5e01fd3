/**
 * The shared decoder-only transformer builder that turns a config and weights into a SameDiff graph
 * ({@link org.silora.hf.graph.DecoderGraphBuilder}), the named linear modules LoRA targets
 * ({@link org.silora.hf.graph.LinearModule}, {@link org.silora.hf.graph.LinearFactory}), rotary tables
 * ({@link org.silora.hf.graph.Rotary}) and the runnable model ({@link org.silora.hf.graph.CausalLm}).
 */
package org.silora.hf.graph;
