/**
 * LLaMA ({@code LlamaForCausalLM}): {@link org.silora.hf.llama.LlamaGraph}, its forward pass written in
 * {@link org.silora.hf.graph.DecoderOps} to be read next to Hugging Face's {@code modeling_llama.py}.
 */
package org.silora.hf.llama;
