/**
 * {@code config.json} of a Hugging Face causal LM as validated records: {@link org.silora.hf.config.LlamaConfig}
 * ({@code LlamaForCausalLM}) and {@link org.silora.hf.config.GptjConfig} ({@code GPTJForCausalLM}), read by
 * {@link org.silora.hf.config.ModelConfigs#load(java.nio.file.Path)}.
 */
package org.silora.hf.config;
