/**
 * GPT-J ({@code GPTJForCausalLM}): {@link org.silora.hf.gptj.GptjGraph}, its forward pass written in
 * {@link org.silora.hf.graph.DecoderOps} to be read next to Hugging Face's {@code modeling_gptj.py}.
 */
package org.silora.hf.gptj;
