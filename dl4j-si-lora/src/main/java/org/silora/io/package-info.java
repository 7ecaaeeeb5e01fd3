/**
 * Files this plugin reads and writes: peft-compatible LoRA adapters ({@link org.silora.io.PeftAdapters}),
 * merged Hugging Face checkpoints ({@link org.silora.io.MergedCheckpoints}), and provenance recorded in them.
 */
package org.silora.io;
