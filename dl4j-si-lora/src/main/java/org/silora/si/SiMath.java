package org.silora.si;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The SI math, in one place for the SameDiff and the DL4J paths (SPEC §2, Zenke et al. 2017):
 * <ul>
 *   <li>path integral, after every optimizer step: {@code ω += −g ⊙ Δθ}, Δθ the step really taken;</li>
 *   <li>the paper's LoRA gradient (Eq. 13): {@code g̃ = g_B·A + B·g_A − η·g_B·g_A};</li>
 *   <li>consolidation: {@code Ω = max(0, ω) / (Δν² + ξ)};</li>
 *   <li>layer weights: {@code λ_l = softmax_l(‖Ω_l‖₂ / τ)} or {@code 1/L};</li>
 *   <li>the quadratic penalty's value {@code Σ Ω ⊙ (θ − θ^ν)²}.</li>
 * </ul>
 *
 * <pre>{@code
 * SiMath.accumulate(omega, grad, step);                 // every step
 * INDArray big = SiMath.consolidate(omega, totalChange, 1e-7);
 * double[] lambda = SiMath.layerWeights(norms, LayerWeighting.AUTO);
 * }</pre>
 */
public final class SiMath {

    /** ξ of the paper, the damping in the consolidation's denominator. */
    public static final double DEFAULT_XI = 1e-7;

    private SiMath() {
    }

    /** {@code omega += −grad ⊙ step} in place; {@code grad} is overwritten (used as scratch). */
    public static void accumulate(INDArray omega, INDArray grad, INDArray step) {
        omega.subi(grad.muli(step));
    }

    /**
     * Eq. 13: {@code g̃ = g_B·A + B·g_A − η·g_B·g_A} with A {@code [r, in]}, B {@code [out, r]} at step t and their
     * task-loss gradients; written into {@code out} ({@code [out, in]}).
     */
    public static INDArray paperGradient(INDArray a, INDArray b, INDArray gA, INDArray gB, double eta, INDArray out) {
        Nd4j.gemm(gB, a, out, false, false, 1.0, 0.0);
        Nd4j.gemm(b, gA, out, false, false, 1.0, 1.0);
        Nd4j.gemm(gB, gA, out, false, false, -eta, 1.0);
        return out;
    }

    /** {@code Ω = max(0, ω) / (Δν² + ξ)} as a new array. */
    public static INDArray consolidate(INDArray omega, INDArray totalChange, double xi) {
        if (!(xi > 0)) throw new IllegalArgumentException("xi must be positive, got " + xi);
        INDArray denom = totalChange.mul(totalChange).addi(xi);
        INDArray big = Transforms.max(omega, 0.0, true).divi(denom);
        denom.close();   // module-sized: freed now, not when the garbage collector gets to it
        return big;
    }

    /** λ_l from the norms ‖Ω_l‖₂ (a numerically stable softmax). */
    public static double[] layerWeights(double[] norms, LayerWeighting w) {
        int n = norms.length;
        double[] out = new double[n];
        if (n == 0) return out;
        if (w.uniform()) {
            java.util.Arrays.fill(out, 1.0 / n);
            return out;
        }
        double tau = effectiveTau(norms, w);
        double max = Double.NEGATIVE_INFINITY;
        for (double v : norms) max = Math.max(max, v / tau);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            out[i] = Math.exp(norms[i] / tau - max);
            sum += out[i];
        }
        for (int i = 0; i < n; i++) out[i] /= sum;
        return out;
    }

    /** τ as used: the configured one, or the standard deviation of the norms for "auto" (1 if they are all equal). */
    public static double effectiveTau(double[] norms, LayerWeighting w) {
        if (!Double.isNaN(w.tau())) return w.tau();
        double mean = 0;
        for (double v : norms) mean += v;
        mean /= norms.length;
        double var = 0;
        for (double v : norms) var += (v - mean) * (v - mean);
        double sd = Math.sqrt(var / norms.length);
        return sd > 0 ? sd : 1.0;
    }

    /** Shannon entropy (nats) of the layer weights: ln L when uniform, 0 when all weight is on one module. */
    public static double entropy(double[] weights) {
        double h = 0;
        for (double p : weights) if (p > 0) h -= p * Math.log(p);
        return h;
    }

    /** {@code Σ Ω ⊙ (θ − anchor)²}. */
    public static double quadraticPenalty(INDArray importance, INDArray theta, INDArray anchor) {
        INDArray d = theta.sub(anchor);
        return d.muli(d).muli(importance).sumNumber().doubleValue();
    }
}
