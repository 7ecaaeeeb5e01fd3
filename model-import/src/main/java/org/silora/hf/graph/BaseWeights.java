package org.silora.hf.graph;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Where a graph's base weights come from and how it holds them: the checkpoint's tensors, the {@link LinearFactory}
 * that turns each linear module into ops (LoRA hooks in here), whether the base tensors are trainable variables
 * (pretraining) or frozen constants, and their element type in memory.
 *
 * <pre>{@code
 * BaseWeights frozen = BaseWeights.frozen(weights, LinearFactory.BASE);
 * BaseWeights half = new BaseWeights(weights, LinearFactory.BASE, false, DataType.HALF);   // inference
 * }</pre>
 *
 * @param weights       the checkpoint's tensors by Hugging Face name
 * @param linearFactory how each linear module is applied; {@code null} means {@link LinearFactory#BASE}
 * @param trainable     every base tensor a trainable variable instead of a frozen constant; the token embedding is
 *                      then applied as {@code oneHot(ids)·E} (M2.1's {@code gather} has a wrong gradient for repeated
 *                      indices)
 * @param storage       element type of the base weights in memory: FLOAT, or HALF/BFLOAT16 for inference, each weight
 *                      widened to FLOAT just before its module runs (half the memory; the widening costs a pass over
 *                      each weight per forward pass). Norm weights and biases stay FLOAT.
 */
public record BaseWeights(Weights weights, LinearFactory linearFactory, boolean trainable, DataType storage) {

    public BaseWeights {
        if (linearFactory == null) linearFactory = LinearFactory.BASE;
        if (trainable && storage != DataType.FLOAT) {
            throw new IllegalArgumentException("trainable base weights must be FLOAT, not " + storage);
        }
        if (storage != DataType.FLOAT && storage != DataType.HALF && storage != DataType.BFLOAT16) {
            throw new IllegalArgumentException("base weights can be stored as FLOAT, HALF or BFLOAT16, not " + storage);
        }
    }

    /** Frozen FLOAT base weights, each linear module applied by {@code linearFactory}. */
    public static BaseWeights frozen(Weights weights, LinearFactory linearFactory) {
        return new BaseWeights(weights, linearFactory, false, DataType.FLOAT);
    }
}
