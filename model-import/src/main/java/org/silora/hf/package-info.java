/**
 * Hugging Face checkpoint import for SameDiff: {@code safetensors} (reading and writing), {@code config}
 * (validated records for LLaMA and GPT-J), {@code graph} (the shared transformer-block builder),
 * {@code llama} and {@code gptj} (the per-family differences), {@code tokenizer} ({@code tokenizer.json}).
 */
package org.silora.hf;
