package org.silora.continual;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * The console report of an experiment: per method its test accuracy matrix [task × after task], then a Markdown table
 * of the average accuracy after the last task.
 *
 * <pre>{@code
 * ResultsTable.print(System.out, outcome, setup.epochs(), out.resolve("accuracy.png"));
 * }</pre>
 */
public final class ResultsTable {

    private ResultsTable() {
    }

    /** Prints the report; {@code png} is named as where the chart is. */
    public static void print(PrintStream o, Outcome r, int epochs, Path png) {
        int tasks = r.tasks().size();
        o.printf(Locale.ROOT, "Task-incremental split MNIST, %d epochs per task, test accuracy [task x after task]%n", epochs);
        for (Map.Entry<String, Run> e : r.methods().entrySet()) {
            String name = e.getKey() + (e.getKey().equals("si") ? " (c=" + r.siC() + ")"
                    : e.getKey().equals("ewc") ? " (lambda=" + r.lambda() + ")" : "");
            o.println();
            o.println(name);
            o.print("task    ");
            for (int t = 0; t < tasks; t++) o.printf(Locale.ROOT, "  after%d", t + 1);
            o.println();
            double[][] m = e.getValue().test();
            for (int i = 0; i < tasks; i++) {
                o.printf(Locale.ROOT, "{%d,%d}   ", r.tasks().get(i).a(), r.tasks().get(i).b());
                for (int t = 0; t < tasks; t++) o.print(t < i ? "       -" : String.format(Locale.ROOT, "  %6.4f", m[i][t]));
                o.println();
            }
        }
        o.println();
        o.println("| method | average accuracy after the last task |");
        o.println("|---|---|");
        for (Map.Entry<String, Run> e : r.methods().entrySet()) o.printf(Locale.ROOT, "| %s | %.4f |%n", e.getKey(), e.getValue().testAvg());
        o.printf(Locale.ROOT, "| joint (reference) | %.4f |%n", r.joint().testAvg());
        o.printf(Locale.ROOT, "%n%.1f s; plot %s%n", r.seconds(), png);
    }
}
