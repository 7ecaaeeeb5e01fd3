package org.silora.si;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;

import java.util.Map;

/**
 * A weighted quadratic pull of each LoRA module's effective weight towards an anchor, built from existing
 * SameDiff ops (M2.1 has no Java-defined ops): {@code coeff · Σ_l λ_l Σ_i M_i (D_i − D^anchor_i)²} with
 * {@code D = s·B·A}. Since {@code W − W^ν = D − D^ν} (W0 cancels), this is exactly SPEC §2's
 * {@code φ·Σ_l λ_l Σ Ω ⊙ (W − W^ν)²} for SI, and {@code λ·Σ F ⊙ D²} (anchor 0) for EWC-LoRA. M, λ and the
 * anchor are graph constants.
 *
 * <pre>{@code
 * SDVariable pen = QuadraticPenalty.si(model, importance, 1e-3);
 * trainer.setPenalty(pen);
 * }</pre>
 */
public final class QuadraticPenalty {

    public static final String NAME = "penalty";

    private QuadraticPenalty() {
    }

    /** SI-LoRA's phase-μ penalty from an {@link Importance} (Ω, λ, anchors) and φ. */
    public static SDVariable si(LoraModel model, Importance importance, double phi) {
        importance.checkFits(model, null, java.nio.file.Path.of("importance"));
        Map<String, Importance.ModuleImportance> m = importance.modules();
        return build(model, phi, name -> m.get(name).omega(), name -> m.get(name).anchorDelta(), name -> m.get(name).lambda());
    }

    /**
     * The general form: per module a weight matrix {@code [out, in]}, an anchor delta ({@code null} for 0) and λ_l.
     */
    public static SDVariable build(LoraModel model, double coeff,
                                   java.util.function.Function<String, INDArray> weight,
                                   java.util.function.Function<String, INDArray> anchorDelta,
                                   java.util.function.ToDoubleFunction<String> lambda) {
        if (!(coeff >= 0) || Double.isInfinite(coeff)) throw new IllegalArgumentException("penalty coefficient must be >= 0, got " + coeff);
        SameDiff sd = model.sameDiff();
        SDVariable total = null;
        for (LoraModule mod : model.modules().values()) {
            String n = mod.name();
            INDArray w = weight.apply(n);
            if (w == null) throw new IllegalArgumentException("no penalty weights for module " + n);
            SDVariable d = sd.mmul(mod.b(), mod.a()).mul(mod.scaling());
            INDArray anchor = anchorDelta.apply(n);
            SDVariable diff = anchor == null ? d : d.sub(sd.constant(n + "/penalty_anchor", anchor.castTo(DataType.FLOAT)));
            SDVariable term = sd.sum(sd.constant(n + "/penalty_weight", w.castTo(DataType.FLOAT)).mul(diff.mul(diff)))
                    .mul(lambda.applyAsDouble(n));
            total = total == null ? term : total.add(term);
        }
        return total.mul(NAME, coeff);
    }
}
