/**
 * The runnable imported model: {@link org.silora.hf.model.CausalLm} (validate, load or build the graph of a config's
 * family, fill its placeholders, run it) and {@link org.silora.hf.model.StepMemory}, the session memory that lets its
 * forward passes, and dl4j-si-lora's training passes over the same graph, reuse one pass's arrays in the next.
 *
 * <p>The one package that knows every family: it depends on {@code org.silora.hf.graph}, {@code org.silora.hf.llama}
 * and {@code org.silora.hf.gptj}, and none of them depends on it.
 */
package org.silora.hf.model;
