package org.silora.demo;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * An axis range {@code [lo, hi]} with round ticks every {@code step}; {@code lo} and {@code hi} are multiples of
 * {@code step} unless a limit cut them. For a log axis {@code step} is NaN and the bounds are powers of 10. The
 * arithmetic of {@link Plots}' axes, kept apart from the drawing: data in, numbers out.
 *
 * <pre>{@code
 * NiceRange r = NiceRange.of(211.7, 326.1);   // 200..340 by 20
 * double[] ticks = r.ticks();                  // 200, 220, ..., 340
 * }</pre>
 */
record NiceRange(double lo, double hi, double step) {

    /** Share of the data span added on each side before snapping. */
    static final double PAD = 0.05;

    /** The tick values from the first multiple of step at or above lo up to hi. */
    double[] ticks() {
        if (Double.isNaN(step)) {
            List<Double> t = new ArrayList<>();
            for (double d = lo; d <= hi * (1 + 1e-9); d *= 10) t.add(d);
            return t.stream().mapToDouble(Double::doubleValue).toArray();
        }
        List<Double> t = new ArrayList<>();
        long first = (long) Math.ceil(lo / step - 1e-9), last = (long) Math.floor(hi / step + 1e-9);
        for (long i = first; i <= last; i++) t.add(clean(i * step, step));
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Decimals needed to print the ticks: 0 for step 20, 2 for step 0.05. */
    int decimals() {
        return Double.isNaN(step) ? 0 : Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
    }

    /** The range widened to whole-number ticks where its step is below 1 (for integer data such as step counts). */
    NiceRange wholeSteps() {
        return step >= 1 ? this : new NiceRange(Math.floor(lo + 1e-9), Math.ceil(hi - 1e-9), 1);
    }

    /** {@link #of(double, double, double, double, double)} with 5 % padding and no limits. */
    static NiceRange of(double min, double max) {
        return of(min, max, PAD, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
    }

    /**
     * Pads {@code [min, max]} by {@code pad} times its span on each side (never beyond {@code floor}/{@code ceil},
     * never cutting data), picks a step of 1, 2 or 5 times a power of ten that gives about five intervals, and widens
     * the bounds to multiples of it. E.g. 211.7..326.1 gives 200..340 by 20, 0.251..0.292 gives 0.24..0.30 by 0.01.
     * No finite data gives 0..1; a single value gets a span of 10 % of itself (or 1 around 0).
     */
    static NiceRange of(double min, double max, double pad, double floor, double ceil) {
        if (!Double.isFinite(min) || !Double.isFinite(max)) return new NiceRange(0, 1, 0.2);
        if (min > max) throw new IllegalArgumentException("min > max: " + min + " > " + max);
        if (min == max) {
            double half = min == 0 ? 0.5 : Math.abs(min) * 0.05;
            min -= half;
            max += half;
        }
        double p = (max - min) * pad;
        double lo = Math.min(min, Math.max(floor, min - p));
        double hi = Math.max(max, Math.min(ceil, max + p));
        double step = step((hi - lo) / 5);
        double nlo = clean(Math.floor(lo / step + 1e-9) * step, step);
        double nhi = clean(Math.ceil(hi / step - 1e-9) * step, step);
        // a limit that is not a multiple of the step cuts the range (e.g. floor 0 with 0.33 by 0.5 would give -0.5)
        if (nlo < floor && floor <= min) nlo = floor;
        if (nhi > ceil && ceil >= max) nhi = ceil;
        return new NiceRange(nlo, nhi, step);
    }

    /** Log axis bounds: the powers of ten around the positive data (one decade either side of a single value). */
    static NiceRange log(double min, double max) {
        if (!Double.isFinite(min) || !Double.isFinite(max) || min <= 0) return new NiceRange(1, 10, Double.NaN);
        int a = (int) Math.floor(Math.log10(min) + 1e-9), b = (int) Math.ceil(Math.log10(max) - 1e-9);
        if (b <= a) b = a + 1;
        return new NiceRange(Math.pow(10, a), Math.pow(10, b), Double.NaN);
    }

    /** 1, 2 or 5 times a power of ten, the nearest to {@code raw} on a log scale (cut points √2, √10, √50). */
    static double step(double raw) {
        if (!(raw > 0) || !Double.isFinite(raw)) return 1;
        int e = (int) Math.floor(Math.log10(raw));
        double f = raw / Math.pow(10, e);
        double m = f < Math.sqrt(2) ? 1 : f < Math.sqrt(10) ? 2 : f < Math.sqrt(50) ? 5 : 10;
        return BigDecimal.valueOf(m).scaleByPowerOfTen(e).doubleValue();
    }

    /** Rounds away binary noise (0.30000000000000004) at a precision well below the step. */
    private static double clean(double v, double step) {
        int scale = Math.max(0, (int) -Math.floor(Math.log10(step)) + 3);
        return BigDecimal.valueOf(v).setScale(scale, RoundingMode.HALF_UP).stripTrailingZeros().doubleValue() + 0.0;
    }
}
