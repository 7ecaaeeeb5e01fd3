/** LLaMA ({@code LlamaForCausalLM}): what differs from the shared decoder builder. */
package org.silora.hf.llama;
