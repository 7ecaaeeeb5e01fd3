/**
 * Reading and writing {@code safetensors} checkpoints: {@link org.silora.hf.safetensors.SafetensorsFile} (one file,
 * validated and memory-mapped), {@link org.silora.hf.safetensors.SafetensorsCheckpoint} (a model folder, single file
 * or sharded with an index), {@link org.silora.hf.safetensors.SafetensorsWriter} (atomic, streaming). F32, F16 and BF16
 * are supported and always read as FLOAT; every problem with a file is a one-line
 * {@link org.silora.hf.ModelFormatException}.
 *
 * <pre>{@code
 * try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(modelDir)) {
 *     INDArray w = ckpt.readFloat("model.layers.0.self_attn.q_proj.weight");
 * }
 * }</pre>
 */
package org.silora.hf.safetensors;
