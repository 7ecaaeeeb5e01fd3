/**
 * LoRA on the named linear modules of an imported graph, in peft's vocabulary: {@link org.silora.lora.LoraConfig}
 * ({@code r}, {@code loraAlpha}, {@code targetModules}, {@code useRslora}, ...), {@link org.silora.lora.LoraModel}
 * (inject, train, merge), and the causal-LM training loop {@link org.silora.lora.LoraTrainer}.
 */
package org.silora.lora;
