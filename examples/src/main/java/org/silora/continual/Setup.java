package org.silora.continual;

import java.util.List;

/**
 * The settings of one split-MNIST experiment; a list of several SI strengths or EWC λ values is a grid tuned on the
 * validation digits.
 *
 * <pre>{@code
 * Setup s = new Setup(5, 64, 256, 1e-3, 0, List.of(0.1, 1.0), List.of(1e4, 1e5), 1e-3, 1);
 * }</pre>
 *
 * @param epochs       passes over each task's training digits
 * @param batch        minibatch size
 * @param hidden       units in each of the two hidden layers
 * @param lr           Adam learning rate
 * @param trainPerTask cap on training digits per task; 0 (or less): all of the split
 * @param siC          SI strengths c to try
 * @param ewcLambda    EWC strengths λ to try
 * @param xi           SI damping ξ
 * @param seed         seed of the splits, the initialisation and the batch order
 */
public record Setup(int epochs, int batch, int hidden, double lr, int trainPerTask, List<Double> siC, List<Double> ewcLambda,
                    double xi, long seed) {

    /** Refuses settings no run can use, in the command line's words. */
    public Setup {
        if (epochs < 1 || batch < 1 || hidden < 1 || !(lr > 0)) throw new IllegalArgumentException("--epochs, --batch, --hidden and --lr must be positive");
        if (siC.isEmpty() || ewcLambda.isEmpty()) throw new IllegalArgumentException("--si-c and --ewc-lambda need at least one value");
        for (double v : siC) if (!(v >= 0)) throw new IllegalArgumentException("--si-c values must be >= 0, got " + v);
        for (double v : ewcLambda) if (!(v >= 0)) throw new IllegalArgumentException("--ewc-lambda values must be >= 0, got " + v);
        siC = List.copyOf(siC);
        ewcLambda = List.copyOf(ewcLambda);
    }

    /** Networks trained in all: fine-tuning, one per SI and EWC strength, joint. */
    public int runs() {
        return 2 + siC.size() + ewcLambda.size();
    }
}
