package org.silora.console;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar with rate and ETA on stderr: redrawn in place on a terminal, or one line per 10 % otherwise
 * (so logs of non-interactive runs stay readable).
 */
public final class ProgressBar implements AutoCloseable {

    private final String label;
    private final PrintStream out = System.err;
    private final boolean tty = System.console() != null;
    private final long start = System.nanoTime();
    private long lastDraw;
    private int lastDecile = -1;
    private int done;
    private int total;
    private String extra = "";

    public ProgressBar(String label, int total) {
        this.label = label;
        this.total = total;
    }

    public void update(int done, int total, String extra) {
        this.done = done;
        this.total = total;
        this.extra = extra;
        long now = System.nanoTime();
        int decile = total == 0 ? 10 : (int) (10L * done / total);
        if (tty ? now - lastDraw > 100_000_000L || done == total : decile != lastDecile) {
            lastDraw = now;
            lastDecile = decile;
            draw();
        }
    }

    private void draw() {
        double secs = (System.nanoTime() - start) / 1e9;
        double frac = total == 0 ? 1 : Math.min(1.0, (double) done / total);
        int width = 30;
        int filled = (int) Math.round(frac * width);
        String eta = done == 0 ? "--:--" : clock(secs / done * (total - done));
        String line = String.format(Locale.ROOT, "%s [%s%s] %d/%d %s elapsed %s ETA %s", label,
                "#".repeat(filled), ".".repeat(width - filled), done, total, extra, clock(secs), eta);
        if (tty) out.print("\r" + line + "\u001b[K");
        else out.println(line);
        out.flush();
    }

    private static String clock(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
                : String.format(Locale.ROOT, "%02d:%02d", t / 60, t % 60);
    }

    @Override
    public void close() {
        if (tty) {
            draw();
            out.println();
        }
    }
}
