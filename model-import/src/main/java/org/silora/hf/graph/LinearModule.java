package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One Hugging Face linear module of a graph, e.g. {@code model.layers.3.self_attn.q_proj}: computes
 * {@code y = x·Wᵀ + b} for {@code x} of shape {@code [tokens, in]}, {@code W} being the checkpoint's {@code [out, in]}
 * weight. The graph holds it transposed, {@code [in, out]}, as a frozen constant (FLOAT, or HALF/BFLOAT16 widened when
 * the module runs).
 *
 * <pre>{@code
 * LinearModule q = lm.graph().linears().get("model.layers.0.self_attn.q_proj");
 * INDArray w = q.weightMatrix();   // [out, in] FLOAT, Hugging Face orientation
 * }</pre>
 *
 * @param name    the module's Hugging Face name (its weight is {@code name + ".weight"})
 * @param in      input features
 * @param out     output features
 * @param weightT {@code [in, out]} constant: the checkpoint weight transposed
 * @param bias    {@code [out]} FLOAT constant, or {@code null}
 */
public record LinearModule(String name, int in, int out, SDVariable weightT, SDVariable bias) {

    public LinearModule {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("module name is empty");
        if (in <= 0 || out <= 0) throw new IllegalArgumentException(name + ": sizes must be positive");
        if (weightT == null) throw new IllegalArgumentException(name + ": weight is missing");
    }

    /**
     * The frozen base computation {@code x·Wᵀ (+ b)}, its result named after the module. SameDiff's {@code linear}
     * ({@code xw_plus_b}) differentiates into separate matmuls, so a backward pass computes {@code ∂L/∂x} and never
     * {@code ∂L/∂W} of a constant weight. A 16-bit weight is widened to FLOAT right before use (ordered after
     * {@code x} is computed, so widened copies of different modules do not coexist in inference).
     */
    public SDVariable applyBase(SDVariable x) {
        SameDiff sd = weightT.getSameDiff();
        SDVariable w = weightT;
        if (w.dataType() != DataType.FLOAT) {
            w = sd.castTo(name + "/weight_f32", weightT, DataType.FLOAT);
            if (sd.getVariables().get(x.name()).getOutputOfOp() != null) w.addControlDependency(x);
        }
        SDVariable b = bias != null ? bias : sd.constant(name + "/no_bias", Nd4j.zeros(DataType.FLOAT, out));
        return sd.nn.linear(name, x, w, b);
    }

    /** The weight in Hugging Face orientation, {@code [out, in]} FLOAT: a view of the stored array when it is FLOAT. */
    public INDArray weightMatrix() {
        INDArray t = weightT.getArr().transpose();
        return t.dataType() == DataType.FLOAT ? t : t.castTo(DataType.FLOAT);
    }
}
