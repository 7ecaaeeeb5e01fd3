package org.silora.continual;

/**
 * Accuracies of one trained network, {@code [task][after task]} on validation and test digits (joint training: one
 * column), and the seconds it took.
 */
public record Run(double[][] val, double[][] test, double seconds) {

    /** Mean validation accuracy over all tasks after the last one: what the grids are tuned on. */
    public double valAvg() {
        return lastColumnMean(val);
    }

    /** Mean test accuracy over all tasks after the last one: the reported figure. */
    public double testAvg() {
        return lastColumnMean(test);
    }

    /** Mean test accuracy over the tasks seen so far, after task {@code after} (0-based). */
    public double seenTestMean(int after) {
        double s = 0;
        for (int i = 0; i <= after; i++) s += test[i][after];
        return s / (after + 1);
    }

    private static double lastColumnMean(double[][] acc) {
        double s = 0;
        for (double[] row : acc) s += row[row.length - 1];
        return s / acc.length;
    }
}
