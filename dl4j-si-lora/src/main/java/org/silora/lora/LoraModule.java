package org.silora.lora;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.graph.LinearModule;

/**
 * The LoRA of one targeted linear module: trainable {@code A [r, in]} and {@code B [out, r]} next to the frozen
 * base weight; effective delta {@code D = s·B·A}, effective weight {@code W = W0 + D} ({@code [out, in]}).
 *
 * @param base    the frozen module
 * @param a       {@code lora_A} variable {@code [r, in]}
 * @param b       {@code lora_B} variable {@code [out, r]}
 * @param scaling s
 * @param input   the module's input {@code x [tokens, in]}
 * @param output  the module's output {@code y [tokens, out]} (base + LoRA), whose loss gradient is δ
 */
public record LoraModule(LinearModule base, SDVariable a, SDVariable b, double scaling, SDVariable input,
                         SDVariable output) {

    public String name() {
        return base.name();
    }

    /** The current delta {@code s·B·A} as a new array {@code [out, in]}. */
    public INDArray delta() {
        return b.getArr().mmul(a.getArr()).muli(scaling);
    }

    /** The current effective weight {@code W0 + s·B·A} as a new array {@code [out, in]}. */
    public INDArray effectiveWeight() {
        return base.weightMatrix().add(delta());
    }
}
