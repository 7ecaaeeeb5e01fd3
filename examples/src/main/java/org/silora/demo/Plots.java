package org.silora.demo;

import org.silora.hf.AtomicFiles;
import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Small PNG charts drawn with Java2D (no plotting dependency): line charts, a heatmap and a labelled scatter plot.
 * Files are written atomically.
 *
 * <pre>{@code
 * Plots.lines(Path.of("loss.png"), "Phase mu", "step", "loss", List.of(new Plots.Series("task loss", xs, ys)), false);
 * }</pre>
 */
public final class Plots {

    /** One named line. */
    public record Series(String name, double[] x, double[] y) {
    }

    /** One labelled point. */
    public record Point(String label, double x, double y) {
    }

    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)};
    private static final int W = 900;
    private static final int H = 560;
    private static final int L = 90;
    private static final int R = 200;
    private static final int T = 50;
    private static final int B = 70;

    private Plots() {
    }

    /** Line chart; {@code logY} plots log10 of positive values. */
    public static void lines(Path file, String title, String xLabel, String yLabel, List<Series> series, boolean logY) throws IOException {
        double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = Double.POSITIVE_INFINITY, y1 = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                double y = tf(s.y()[i], logY);
                if (!Double.isFinite(y)) continue;
                x0 = Math.min(x0, s.x()[i]);
                x1 = Math.max(x1, s.x()[i]);
                y0 = Math.min(y0, y);
                y1 = Math.max(y1, y);
            }
        }
        if (!(x1 > x0)) x1 = x0 + 1;
        if (!(y1 > y0)) y1 = y0 + 1;
        double pad = (y1 - y0) * 0.05;
        y0 -= pad;
        y1 += pad;
        BufferedImage img = canvas();
        Graphics2D g = img.createGraphics();
        setup(g);
        axes(g, title, xLabel, logY ? "log10 " + yLabel : yLabel, x0, x1, y0, y1);
        int k = 0;
        for (Series s : series) {
            g.setColor(PALETTE[k % PALETTE.length]);
            g.setStroke(new BasicStroke(2f));
            int px = -1, py = -1;
            for (int i = 0; i < s.x().length; i++) {
                double y = tf(s.y()[i], logY);
                if (!Double.isFinite(y)) continue;
                int cx = sx(s.x()[i], x0, x1);
                int cy = sy(y, y0, y1);
                if (px >= 0) g.drawLine(px, py, cx, cy);
                px = cx;
                py = cy;
            }
            legend(g, k, s.name());
            k++;
        }
        g.dispose();
        write(img, file);
    }

    /** Heatmap of {@code values[row][col]} with row and column labels and a colour bar. */
    public static void heatmap(Path file, String title, String[] rows, String[] cols, double[][] values, String valueLabel) throws IOException {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double[] r : values) for (double v : r) if (Double.isFinite(v)) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        if (!(hi > lo)) hi = lo + 1;
        BufferedImage img = canvas();
        Graphics2D g = img.createGraphics();
        setup(g);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.drawString(title, L, 32);
        int gw = W - L - R;
        int gh = H - T - B;
        int cw = gw / Math.max(1, cols.length);
        int ch = gh / Math.max(1, rows.length);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < cols.length; j++) {
                double v = values[i][j];
                g.setColor(Double.isFinite(v) ? viridis((v - lo) / (hi - lo)) : Color.LIGHT_GRAY);
                g.fillRect(L + j * cw, T + i * ch, cw, ch);
                g.setColor(Color.WHITE);
                if (ch >= 16) g.drawString(String.format(Locale.ROOT, "%.2f", v), L + j * cw + cw / 2 - 14, T + i * ch + ch / 2 + 5);
            }
            g.setColor(Color.BLACK);
            g.drawString(rows[i], L - 80, T + i * ch + ch / 2 + 5);
        }
        for (int j = 0; j < cols.length; j++) {
            g.drawString(cols[j], L + j * cw + cw / 2 - g.getFontMetrics().stringWidth(cols[j]) / 2, H - B + 20);
        }
        for (int i = 0; i < 100; i++) {
            g.setColor(viridis(i / 99.0));
            g.fillRect(W - R + 40, T + gh - (i + 1) * gh / 100, 20, gh / 100 + 1);
        }
        g.setColor(Color.BLACK);
        g.drawString(String.format(Locale.ROOT, "%.2f", hi), W - R + 65, T + 10);
        g.drawString(String.format(Locale.ROOT, "%.2f", lo), W - R + 65, T + gh);
        g.drawString(valueLabel, W - R + 35, T + gh + 25);
        g.dispose();
        write(img, file);
    }

    /** Scatter plot of labelled points. */
    public static void scatter(Path file, String title, String xLabel, String yLabel, List<Point> points) throws IOException {
        double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = Double.POSITIVE_INFINITY, y1 = Double.NEGATIVE_INFINITY;
        for (Point p : points) {
            x0 = Math.min(x0, p.x());
            x1 = Math.max(x1, p.x());
            y0 = Math.min(y0, p.y());
            y1 = Math.max(y1, p.y());
        }
        double px = Math.max((x1 - x0) * 0.1, 1e-3), py = Math.max((y1 - y0) * 0.1, 1e-3);
        x0 -= px;
        x1 += px;
        y0 -= py;
        y1 += py;
        BufferedImage img = canvas();
        Graphics2D g = img.createGraphics();
        setup(g);
        axes(g, title, xLabel, yLabel, x0, x1, y0, y1);
        int k = 0;
        for (Point p : points) {
            g.setColor(PALETTE[k % PALETTE.length]);
            int cx = sx(p.x(), x0, x1);
            int cy = sy(p.y(), y0, y1);
            g.fillOval(cx - 6, cy - 6, 12, 12);
            legend(g, k, p.label());
            k++;
        }
        g.dispose();
        write(img, file);
    }

    private static double tf(double y, boolean log) {
        return log ? (y > 0 ? Math.log10(y) : Double.NaN) : y;
    }

    private static BufferedImage canvas() {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.dispose();
        return img;
    }

    private static void setup(Graphics2D g) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.BLACK);
    }

    private static int sx(double x, double x0, double x1) {
        return L + (int) Math.round((x - x0) / (x1 - x0) * (W - L - R));
    }

    private static int sy(double y, double y0, double y1) {
        return H - B - (int) Math.round((y - y0) / (y1 - y0) * (H - T - B));
    }

    private static void axes(Graphics2D g, String title, String xLabel, String yLabel, double x0, double x1, double y0, double y1) {
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        g.drawString(title, L, 32);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawRect(L, T, W - L - R, H - T - B);
        FontMetrics fm = g.getFontMetrics();
        for (int i = 0; i <= 5; i++) {
            double xv = x0 + (x1 - x0) * i / 5;
            double yv = y0 + (y1 - y0) * i / 5;
            int cx = sx(xv, x0, x1);
            int cy = sy(yv, y0, y1);
            g.setColor(new Color(0xeeeeee));
            g.drawLine(cx, T + 1, cx, H - B - 1);
            g.drawLine(L + 1, cy, W - R - 1, cy);
            g.setColor(Color.BLACK);
            String xs = fmt(xv);
            String ys = fmt(yv);
            g.drawString(xs, cx - fm.stringWidth(xs) / 2, H - B + 18);
            g.drawString(ys, L - 8 - fm.stringWidth(ys), cy + 5);
        }
        g.drawString(xLabel, L + (W - L - R) / 2 - fm.stringWidth(xLabel) / 2, H - B + 45);
        AffineTransform old = g.getTransform();
        g.rotate(-Math.PI / 2);
        g.drawString(yLabel, -(T + (H - T - B) / 2) - fm.stringWidth(yLabel) / 2, 25);
        g.setTransform(old);
    }

    private static void legend(Graphics2D g, int k, String name) {
        Color c = g.getColor();
        g.fillRect(W - R + 15, T + 10 + k * 22, 14, 14);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.drawString(name, W - R + 35, T + 22 + k * 22);
        g.setColor(c);
    }

    private static String fmt(double v) {
        double a = Math.abs(v);
        if (a != 0 && (a < 1e-2 || a >= 1e5)) return String.format(Locale.ROOT, "%.1e", v);
        return String.format(Locale.ROOT, a >= 100 ? "%.0f" : "%.2f", v);
    }

    /** A viridis-like colour ramp, t in [0, 1]. */
    private static Color viridis(double t) {
        t = Math.max(0, Math.min(1, t));
        double[][] stops = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
        double p = t * (stops.length - 1);
        int i = Math.min(stops.length - 2, (int) p);
        double f = p - i;
        return new Color((int) (stops[i][0] + f * (stops[i + 1][0] - stops[i][0])),
                (int) (stops[i][1] + f * (stops[i + 1][1] - stops[i][1])),
                (int) (stops[i][2] + f * (stops[i + 1][2] - stops[i][2])));
    }

    private static void write(BufferedImage img, Path file) throws IOException {
        AtomicFiles.write(file, os -> ImageIO.write(img, "png", os));
    }
}
