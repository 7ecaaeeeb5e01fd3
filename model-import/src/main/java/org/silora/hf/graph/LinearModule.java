package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * One Hugging Face linear module of a graph, e.g. {@code model.layers.3.self_attn.q_proj}: computes
 * {@code y = x·Wᵀ + b} for {@code x} of shape {@code [tokens, in]}. The weight keeps Hugging Face's
 * {@code [out, in]} orientation; it and the bias are graph constants (frozen).
 *
 * @param name   the module's Hugging Face name (its weight is {@code name + ".weight"})
 * @param in     input features
 * @param out    output features
 * @param weight {@code [out, in]} constant
 * @param bias   {@code [out]} constant, or {@code null}
 */
public record LinearModule(String name, int in, int out, SDVariable weight, SDVariable bias) {

    public LinearModule {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("module name is empty");
        if (in <= 0 || out <= 0) throw new IllegalArgumentException(name + ": sizes must be positive");
        if (weight == null) throw new IllegalArgumentException(name + ": weight is missing");
    }

    /** The frozen base computation {@code x·Wᵀ (+ b)}, its result named after the module. */
    public SDVariable applyBase(SDVariable x) {
        var sd = weight.getSameDiff();
        if (bias == null) return sd.mmul(name, x, weight, false, true, false);
        return sd.mmul(name + "/mm", x, weight, false, true, false).add(name, bias);
    }
}
