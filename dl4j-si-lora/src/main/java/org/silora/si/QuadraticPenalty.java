package org.silora.si;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.Penalty;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * A weighted quadratic pull of each LoRA module's effective weight towards an anchor:
 * {@code P = c · Σ_l λ_l Σ_i M_i (D_i − D^a_i)²} with {@code D = s·B·A} and {@code D^a = s^a·B^a·A^a}. Since
 * {@code W − W^ν = D − D^ν} (W0 cancels), this is exactly SPEC §2's {@code φ·Σ_l λ_l Σ Ω ⊙ (W − W^ν)²} for SI, and
 * {@code λ·Σ F ⊙ D²} (anchor 0) for EWC-LoRA. M, λ and the anchor are constants.
 *
 * <p>Computed in closed form, one module at a time in two scratch matrices: with {@code G = 2cλ·M ⊙ (D − D^a)},
 * {@code ∂P/∂B = s·G·Aᵀ} and {@code ∂P/∂A = s·Bᵀ·G}. Built from SameDiff ops instead, the penalty held about a dozen
 * {@code [out, in]} arrays per module through every step (4 GB on LLaMA-3.2-1B with q/v targets); this way it holds
 * M and two scratch matrices, and its gradient is exact rather than a difference of two graph gradients.
 *
 * <pre>{@code
 * Penalty pen = QuadraticPenalty.si(model, importance, 1e-3);
 * trainer.setPenalty(pen);
 * }</pre>
 */
public final class QuadraticPenalty implements Penalty {

    private record Term(LoraModule module, INDArray weight, INDArray anchorA, INDArray anchorB, double anchorScaling,
                        double lambda) {
    }

    private final List<Term> terms;
    private final double coeff;
    private final Map<List<Long>, INDArray[]> scratch;

    private QuadraticPenalty(List<Term> terms, double coeff, Map<List<Long>, INDArray[]> scratch) {
        this.terms = terms;
        this.coeff = coeff;
        this.scratch = scratch;
    }

    /** SI-LoRA's phase-μ penalty from an {@link Importance} (Ω, λ, anchors) and φ. */
    public static QuadraticPenalty si(LoraModel model, Importance importance, double phi) {
        importance.checkFits(model, null, java.nio.file.Path.of("importance"));
        Map<String, Importance.ModuleImportance> m = importance.modules();
        return build(model, phi, name -> m.get(name).omega(), name -> {
            Importance.ModuleImportance mi = m.get(name);
            return new Anchor(mi.anchorA(), mi.anchorB(), mi.scaling());
        }, name -> m.get(name).lambda());
    }

    /** An anchor delta given by its factors: {@code scaling·B·A}. */
    public record Anchor(INDArray a, INDArray b, double scaling) {
    }

    /**
     * The general form: per module a weight matrix {@code [out, in]}, an anchor ({@code null} for 0) and λ_l.
     */
    public static QuadraticPenalty build(LoraModel model, double coeff, Function<String, INDArray> weight,
                                         Function<String, Anchor> anchor, ToDoubleFunction<String> lambda) {
        if (!(coeff >= 0) || Double.isInfinite(coeff)) throw new IllegalArgumentException("penalty coefficient must be >= 0, got " + coeff);
        List<Term> terms = new ArrayList<>();
        for (LoraModule mod : model.modules().values()) {
            String n = mod.name();
            INDArray w = weight.apply(n);
            if (w == null) throw new IllegalArgumentException("no penalty weights for module " + n);
            if (w.size(0) != mod.base().out() || w.size(1) != mod.base().in()) {
                throw new IllegalArgumentException("penalty weights of " + n + " have shape " + Arrays.toString(w.shape())
                        + ", the module's weight is [" + mod.base().out() + ", " + mod.base().in() + "]");
            }
            Anchor an = anchor.apply(n);
            terms.add(new Term(mod, w.castTo(DataType.FLOAT), an == null ? null : an.a().castTo(DataType.FLOAT),
                    an == null ? null : an.b().castTo(DataType.FLOAT), an == null ? 0 : an.scaling(), lambda.applyAsDouble(n)));
        }
        return new QuadraticPenalty(List.copyOf(terms), coeff, new HashMap<>());
    }

    /**
     * The same penalty (weights, anchors, λ) with another coefficient, sharing this one's arrays: what a controller
     * that adapts φ or λ during training swaps in (use one of the two at a time).
     *
     * <pre>{@code
     * trainer.setPenalty(penalty.withCoefficient(2 * penalty.coefficient()));
     * }</pre>
     */
    public QuadraticPenalty withCoefficient(double c) {
        if (!(c >= 0) || Double.isInfinite(c)) throw new IllegalArgumentException("penalty coefficient must be >= 0, got " + c);
        return new QuadraticPenalty(terms, c, scratch);
    }

    /** The coefficient c (φ or EWC's λ). */
    public double coefficient() {
        return coeff;
    }

    @Override
    public double value() {
        return evaluate(null);
    }

    @Override
    public double addGradients(Map<String, INDArray> grads) {
        return evaluate(grads);
    }

    private double evaluate(Map<String, INDArray> grads) {
        double total = 0;
        for (Term t : terms) {
            LoraModule m = t.module();
            INDArray a = m.a().getArr();
            INDArray b = m.b().getArr();
            INDArray[] s = scratch.computeIfAbsent(List.of(m.base().out() + 0L, m.base().in() + 0L),
                    k -> new INDArray[]{Nd4j.create(DataType.FLOAT, k.get(0), k.get(1)), Nd4j.create(DataType.FLOAT, k.get(0), k.get(1))});
            INDArray diff = s[0];
            INDArray g = s[1];
            Nd4j.gemm(b, a, diff, false, false, m.scaling(), 0.0);                          // D
            if (t.anchorA() != null) Nd4j.gemm(t.anchorB(), t.anchorA(), diff, false, false, -t.anchorScaling(), 1.0);
            g.assign(t.weight()).muli(diff);                                                  // M ⊙ (D − D^a)
            if (grads != null) {
                double k = 2 * coeff * t.lambda() * m.scaling();
                Nd4j.gemm(g, a, grads.get(m.b().name()), false, true, k, 1.0);               // s·G·Aᵀ
                Nd4j.gemm(b, g, grads.get(m.a().name()), true, false, k, 1.0);               // s·Bᵀ·G
            }
            total += t.lambda() * diff.muli(g).sumNumber().doubleValue();                     // Σ M (D − D^a)²
        }
        return coeff * total;
    }
}
