package org.silora.console;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.Locale;

/**
 * A progress bar with rate and ETA on stderr, drawn by the {@code me.tongfei:progressbar} library: redrawn in place
 * on a terminal, or otherwise one plain line as each tenth of the work is reached, so that the log of a non-interactive
 * run (a child JVM, stderr sent to a file) stays readable.
 *
 * <pre>{@code
 * try (ProgressBar bar = new ProgressBar("fisher", rows.size())) {
 *     est.compute(rows, batchSize, (done, total) -> bar.update(done, total, "samples"));
 * }
 * // on a file: fisher  30% [=============                      ]  30/100 (0:00:12 / 0:00:28) 2.5/s samples
 * }</pre>
 */
public final class ProgressBar implements AutoCloseable {
    /** Width of a plain line; a terminal's own width is used on a terminal. */
    static final int LINE_WIDTH = 100;

    private final me.tongfei.progressbar.ProgressBar bar;
    private final boolean terminal;
    /** Off a terminal: the last tenth of the work a line was printed for. */
    private int printedDecile = -1;
    /**
     * Off a terminal: the thread that asked the library for the drawing that becomes the next line. The library's own
     * timer thread draws too (once, when the bar starts), possibly from a state older than the last update.
     */
    private volatile Thread lineWanted;

    /** A bar on {@code System.err}; {@code total} may be 0 until the first {@link #update} tells it. */
    public ProgressBar(String label, int total) {
        this(label, total, System.err, System.console() != null);
    }

    ProgressBar(String label, int total, PrintStream err, boolean terminal) {
        this.terminal = terminal;
        ProgressBarBuilder b = new ProgressBarBuilder()
                .setTaskName(label)
                .setInitialMax(total)
                .showSpeed(new DecimalFormat("0.##", DecimalFormatSymbols.getInstance(Locale.ROOT)));   // not ".1/s"
        if (terminal) {
            b.setStyle(ProgressBarStyle.UNICODE_BLOCK).setUpdateIntervalMillis(200)
                    .setConsumer(new ConsoleProgressBarConsumer(err));
        } else {
            // lines are drawn on request (update) only: the library's own timer would redraw every interval
            b.setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(Integer.MAX_VALUE).continuousUpdate()
                    .setConsumer(new DelegatingProgressBarConsumer(line -> {
                        if (Thread.currentThread() == lineWanted) {
                            err.println(line.replace("\r", "").stripTrailing());
                            err.flush();
                        }
                    }, LINE_WIDTH));
        }
        this.bar = b.build();
    }

    /** Reports {@code done} of {@code total} units, with a short note such as the loss ({@code ""} for none). */
    public synchronized void update(int done, int total, String extra) {
        bar.maxHint(total);
        bar.stepTo(done);
        bar.setExtraMessage(extra.isEmpty() ? "" : " " + extra);   // the library puts it right after the rate
        if (!terminal && total > 0) {
            int decile = (int) (10L * Math.min(done, total) / total);
            if (decile > printedDecile) {
                printedDecile = decile;
                lineWanted = Thread.currentThread();
                try {
                    bar.refresh();   // draws on this thread
                } finally {
                    lineWanted = null;
                }
            }
        }
    }

    /** Ends the bar: on a terminal the final state is drawn and the line ended; off a terminal nothing more is printed. */
    @Override
    public synchronized void close() {
        bar.close();
    }
}
