package org.silora.continual;

import org.silora.demo.Plots;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The chart of an experiment: mean test accuracy over the tasks seen so far, after each task, one line per method,
 * joint training as a dashed reference line; the legend carries the average accuracy after the last task. Drawn with
 * XChart through {@link Plots} (the project's one chart style), written atomically.
 *
 * <pre>{@code
 * AccuracyChart.write(out.resolve("accuracy.png"), outcome);
 * }</pre>
 */
public final class AccuracyChart {

    /** The chart's title, also stored in the PNG's Title text chunk. */
    public static final String TITLE = "split MNIST (task-incremental): mean test accuracy over the tasks seen so far";

    private AccuracyChart() {
    }

    /** Writes the chart as a PNG (temporary file, then renamed over {@code file}). */
    public static void write(Path file, Outcome o) throws IOException {
        int n = o.tasks().size();
        double[] after = new double[n];
        for (int t = 0; t < n; t++) after[t] = t + 1;
        List<Plots.Series> lines = new ArrayList<>();
        for (Map.Entry<String, Run> e : o.methods().entrySet()) {
            double[] y = new double[n];
            for (int t = 0; t < n; t++) y[t] = e.getValue().seenTestMean(t);
            lines.add(new Plots.Series(String.format(Locale.ROOT, "%s %.3f", e.getKey(), e.getValue().testAvg()), after, y).withMarkers());
        }
        double joint = o.joint().testAvg();
        lines.add(Plots.Series.reference(String.format(Locale.ROOT, "joint %.3f", joint), 1, n, joint));
        Plots.lines(file, TITLE, "after task", "mean test accuracy", lines, false, Plots.Limits.UNIT);
    }
}
