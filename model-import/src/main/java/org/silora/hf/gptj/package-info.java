/** GPT-J ({@code GPTJForCausalLM}): what differs from the shared decoder builder. */
package org.silora.hf.gptj;
