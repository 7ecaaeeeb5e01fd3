package org.silora.demo;

/**
 * Means over seeds with 95 % intervals.
 *
 * <ul>
 * <li>{@link #mean(double[])} with {@link #ci95(double[])}: Student's t interval over the seeds (k − 1 degrees of
 *     freedom); one seed or identical values give a zero-width interval.</li>
 * <li>{@link #accuracyCi95(double[], int)}: for an accuracy over N items the seed spread is not the only
 *     uncertainty: the items are a sample too. The half-width combines both,
 *     √((t·SE_seeds)² + (1.96·√(p̄(1−p̄)/N))²), so a deterministic model (the base) still gets the binomial interval
 *     of its N items.</li>
 * </ul>
 *
 * <pre>{@code
 * double[] ci = Stats.accuracyCi95(new double[]{0.51, 0.49, 0.50}, 500);   // about [0.45, 0.55]
 * }</pre>
 */
public final class Stats {

    private Stats() {
    }

    /** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom. */
    private static final double[] T95 = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
            2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};

    /** t_{0.975, df}; 1.96 beyond 30. */
    public static double t95(int df) {
        if (df < 1) throw new IllegalArgumentException("degrees of freedom must be >= 1");
        return df <= T95.length ? T95[df - 1] : 1.96;
    }

    public static double mean(double[] v) {
        if (v.length == 0) throw new IllegalArgumentException("no values");
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }

    /** Sample standard error of the mean (0 for one value). */
    public static double standardError(double[] v) {
        if (v.length < 2) return 0;
        double m = mean(v);
        double ss = 0;
        for (double x : v) ss += (x - m) * (x - m);
        return Math.sqrt(ss / (v.length - 1) / v.length);
    }

    /** {@code [lo, hi]}: mean ± t·SE over the values. */
    public static double[] ci95(double[] v) {
        double m = mean(v);
        double h = v.length < 2 ? 0 : t95(v.length - 1) * standardError(v);
        return new double[]{m - h, m + h};
    }

    /** {@code [lo, hi]} of an accuracy: seeds and the binomial sampling of {@code items} items (see the class comment). */
    public static double[] accuracyCi95(double[] v, int items) {
        if (items < 1) throw new IllegalArgumentException("items must be >= 1");
        double m = mean(v);
        double seeds = v.length < 2 ? 0 : t95(v.length - 1) * standardError(v);
        double binom = 1.96 * Math.sqrt(Math.max(0, m * (1 - m)) / items);
        double h = Math.sqrt(seeds * seeds + binom * binom);
        return new double[]{Math.max(0, m - h), Math.min(1, m + h)};
    }
}
