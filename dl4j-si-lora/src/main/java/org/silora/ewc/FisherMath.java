package org.silora.ewc;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The diagonal-Fisher estimate used by the EWC baseline on the DL4J path: the running mean of squared task-loss
 * gradients, {@code F_n = F_{n−1} + (g_n² − F_{n−1}) / n}. It lives with the rest of EWC (the per-sample
 * {@link FisherEstimator} of the LoRA path and its {@link FisherInformation}), so EWC is one package and SI another.
 *
 * <pre>{@code
 * FisherMath.accumulate(fisher, grad.dup(), ++n);    // after every gradient calculation
 * }</pre>
 */
public final class FisherMath {

    private FisherMath() {
    }

    /**
     * Folds {@code grad²} into the running mean {@code mean} of {@code n − 1} earlier squares, in place;
     * {@code grad} is overwritten (used as scratch).
     *
     * @param n the number of squares in the mean after this one (1 for the first)
     */
    public static void accumulate(INDArray mean, INDArray grad, long n) {
        if (n < 1) throw new IllegalArgumentException("n must be at least 1, got " + n);
        mean.addi(grad.muli(grad).subi(mean).divi(n));
    }
}
