package org.silora.demo;

import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.HeatMapStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.font.FontRenderContext;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * PNG charts for the experiments, drawn with XChart: line charts (optionally dashed, with markers or y error bars), a
 * heatmap, a labelled scatter plot and a trade-off "front" plot with 95 % intervals in both directions.
 *
 * <p>Every chart has the same house style: white background, a fixed colour palette, the legend outside the plot,
 * axis bounds padded around the data and snapped to round numbers with round ticks, {@value #WIDTH}&times;{@value
 * #HEIGHT} px. This class turns the data into XChart charts and paints them; the axis arithmetic is {@link NiceRange}'s
 * and the files are {@link PngFile}'s: written atomically (temporary file in the same folder, then renamed), with PNG
 * text chunks {@code Software=silora} and {@code Title=<chart title>}.
 *
 * <p>Headless: charts are painted into a {@link BufferedImage} and need no display; still, loading this class sets
 * {@code java.awt.headless=true} unless the property is set already, because with {@code DISPLAY} naming an X server
 * that cannot be reached AWT would otherwise fail on the first image.
 *
 * <pre>{@code
 * double[] steps = {1, 2, 3, 4};
 * Plots.lines(Path.of("loss.png"), "Phase mu", "step", "loss", List.of(
 *         new Plots.Series("task loss", steps, new double[]{2.1, 1.4, 1.1, 0.9}).withErrors(new double[]{.2, .1, .1, .1}),
 *         Plots.Series.reference("baseline", 1, 4, 1.2)), false);
 * Plots.front(Path.of("front.png"), "Forgetting vs accuracy", "forgetting (pp)", "accuracy (%)", List.of(
 *         new Plots.Front("si", new double[]{3, 5}, new double[]{2, 4}, new double[]{4, 6},
 *                 new double[]{80, 84}, new double[]{78, 83}, new double[]{82, 85})));
 * }</pre>
 */
public final class Plots {

    /*
     * Why the property is set at all: a BufferedImage needs no display, and without DISPLAY the JDK is headless by
     * itself, but with DISPLAY naming a server that cannot be reached (a stale ssh -X session, some CI runners) the
     * first createGraphics() fails with "AWTError: Can't connect to X11 window server". The JDK reads the property
     * once, when AWT starts, so it is set first thing when this class loads (before the Color constants below), and
     * only if nobody chose a value: -Djava.awt.headless=false still wins, and where AWT is already up it changes nothing.
     */
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Chart size in pixels. */
    public static final int WIDTH = 960;
    /** Chart size in pixels. */
    public static final int HEIGHT = 600;

    /** The fixed series colours (tab10 without its grey, which is kept for reference lines). */
    static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf),
            new Color(0xbcbd22)};
    /** Colour of {@link Series#reference reference lines}. */
    static final Color REFERENCE = new Color(0x555555);
    /** Heatmap ramp: ColorBrewer YlGnBu without its darkest class, so black cell values stay readable on every cell. */
    static final Color[] HEAT = {new Color(0xffffcc), new Color(0xc7e9b4), new Color(0x7fcdbb), new Color(0x41b6c4),
            new Color(0x2c7fb8)};
    /** Heatmap cells without a finite value. */
    static final Color MISSING = new Color(0xd9d9d9);
    private static final Marker[] MARKERS = {SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND, SeriesMarkers.SQUARE,
            SeriesMarkers.TRIANGLE_UP, SeriesMarkers.TRIANGLE_DOWN};
    private static final String FONT = Font.SANS_SERIF;
    private static final BasicStroke SOLID = new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    private static final BasicStroke DASHED = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
            new float[]{9f, 6f}, 0f);
    /** 2 px so that at least one pixel row of an interval is fully covered, i.e. drawn in the exact method colour. */
    private static final BasicStroke WHISKER = new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER);
    /** Share of the plot the axis range [lo, hi] spans: the rest is a margin, so markers on a bound stay whole. */
    private static final double CONTENT = 0.96;

    private Plots() {
    }

    /**
     * One named line. {@code yErr} (symmetric y error bars, {@code null} for none), {@code dashed}, {@code markers}
     * and {@code color} ({@code null}: the next palette colour) are optional; use the 3-argument constructor and the
     * {@code with...} methods.
     *
     * <pre>{@code
     * new Plots.Series("si", x, y).withMarkers().withErrors(halfWidths);
     * Plots.Series.reference("joint", 1, 5, 0.987);   // dashed grey horizontal line
     * }</pre>
     */
    public record Series(String name, double[] x, double[] y, double[] yErr, boolean dashed, boolean markers, Color color) {

        /** Checks that x, y (and the error bars) have the same length. */
        public Series {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(x, "x");
            Objects.requireNonNull(y, "y");
            if (x.length != y.length) throw new IllegalArgumentException(name + ": " + x.length + " x but " + y.length + " y");
            if (yErr != null && yErr.length != y.length) {
                throw new IllegalArgumentException(name + ": " + yErr.length + " error bars for " + y.length + " points");
            }
        }

        /** A solid line without markers in the next palette colour. */
        public Series(String name, double[] x, double[] y) {
            this(name, x, y, null, false, false, null);
        }

        /** A dashed grey horizontal line at {@code y} from {@code xFrom} to {@code xTo}, e.g. an upper bound. */
        public static Series reference(String name, double xFrom, double xTo, double y) {
            return new Series(name, new double[]{xFrom, xTo}, new double[]{y, y}, null, true, false, REFERENCE);
        }

        /** This line with symmetric y error bars {@code y ± yErr[i]} (NaN: none at that point). */
        public Series withErrors(double[] yErr) {
            return new Series(name, x, y, Objects.requireNonNull(yErr, "yErr"), dashed, markers, color);
        }

        /** This line, dashed. */
        public Series asDashed() {
            return new Series(name, x, y, yErr, true, markers, color);
        }

        /** This line with a marker on every point. */
        public Series withMarkers() {
            return new Series(name, x, y, yErr, dashed, true, color);
        }

        /** This line in a fixed colour instead of the next palette one. */
        public Series withColor(Color c) {
            return new Series(name, x, y, yErr, dashed, markers, Objects.requireNonNull(c, "color"));
        }
    }

    /** One labelled point. */
    public record Point(String label, double x, double y) {
    }

    /**
     * One method's trade-off curve: point {@code i} is at {@code (x[i], y[i])} with 95 % intervals {@code [xLo[i],
     * xHi[i]]} and {@code [yLo[i], yHi[i]]}. The arrays are copied; all must have the same length, be finite and
     * satisfy {@code lo <= value <= hi}.
     *
     * <pre>{@code
     * new Plots.Front("si_lora", x, xLo, xHi, y, yLo, yHi);
     * }</pre>
     */
    public record Front(String name, double[] x, double[] xLo, double[] xHi, double[] y, double[] yLo, double[] yHi) {

        /** Validates and copies the arrays. */
        public Front {
            Objects.requireNonNull(name, "name");
            double[][] all = {x, xLo, xHi, y, yLo, yHi};
            String[] names = {"x", "xLo", "xHi", "y", "yLo", "yHi"};
            for (int k = 0; k < all.length; k++) {
                if (all[k] == null) throw new NullPointerException(name + ": " + names[k]);
                if (all[k].length != x.length) {
                    throw new IllegalArgumentException(name + ": " + names[k] + " has " + all[k].length + " values, x has " + x.length);
                }
                for (int i = 0; i < all[k].length; i++) {
                    if (!Double.isFinite(all[k][i])) throw new IllegalArgumentException(name + ": " + names[k] + "[" + i + "] = " + all[k][i]);
                }
            }
            if (x.length == 0) throw new IllegalArgumentException(name + ": no points");
            for (int i = 0; i < x.length; i++) {
                if (!(xLo[i] <= x[i] && x[i] <= xHi[i])) {
                    throw new IllegalArgumentException(name + ": point " + i + " needs xLo <= x <= xHi, got " + xLo[i] + ", " + x[i] + ", " + xHi[i]);
                }
                if (!(yLo[i] <= y[i] && y[i] <= yHi[i])) {
                    throw new IllegalArgumentException(name + ": point " + i + " needs yLo <= y <= yHi, got " + yLo[i] + ", " + y[i] + ", " + yHi[i]);
                }
            }
            x = x.clone();
            xLo = xLo.clone();
            xHi = xHi.clone();
            y = y.clone();
            yLo = yLo.clone();
            yHi = yHi.clone();
        }
    }

    /**
     * Hard limits an axis never crosses when it pads the data range, e.g. {@link #UNIT} for accuracies so that 0.99
     * gives an axis ending at 1, not 1.05. Data outside the limits still shows.
     */
    public record Limits(double min, double max) {
        /** No limits. */
        public static final Limits NONE = new Limits(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        /** [0, 1]: accuracies, probabilities. */
        public static final Limits UNIT = new Limits(0, 1);

        /** Checks {@code min < max}. */
        public Limits {
            if (!(min < max)) throw new IllegalArgumentException("limits need min < max: " + min + ", " + max);
        }
    }

    /** Line chart without axis limits; {@code logY} uses a log10 y axis (non-positive values are left out). */
    public static void lines(Path file, String title, String xLabel, String yLabel, List<Series> series, boolean logY) throws IOException {
        lines(file, title, xLabel, yLabel, series, logY, Limits.NONE);
    }

    /**
     * Line chart: one line per series in the order given; the x axis spans the data (snapped to round numbers), the y
     * axis is padded and kept within {@code yLimits}.
     *
     * <pre>{@code
     * Plots.lines(out.resolve("acc.png"), "split MNIST", "after task", "accuracy",
     *         List.of(new Plots.Series("si 0.962", tasks, acc).withMarkers(), Plots.Series.reference("joint", 1, 5, 0.987)),
     *         false, Plots.Limits.UNIT);
     * }</pre>
     */
    public static void lines(Path file, String title, String xLabel, String yLabel, List<Series> series, boolean logY, Limits yLimits)
            throws IOException {
        write(file, title, linesChart(title, xLabel, yLabel, series, logY, yLimits));
    }

    static XyPlot linesChart(String title, String xLabel, String yLabel, List<Series> series, boolean logY, Limits yLimits) {
        Objects.requireNonNull(yLimits, "yLimits");
        MinMax xs = new MinMax(), ys = new MinMax();
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                double y = s.y()[i];
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(y) || (logY && y <= 0)) continue;
                xs.add(s.x()[i]);
                double e = s.yErr() == null || !Double.isFinite(s.yErr()[i]) ? 0 : Math.abs(s.yErr()[i]);
                ys.add(y + e);
                ys.add(logY && y - e <= 0 ? y : y - e);
            }
        }
        NiceRange xr = NiceRange.of(xs.min, xs.max, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        boolean integral = series.stream().flatMapToDouble(s -> Arrays.stream(s.x())).filter(Double::isFinite).allMatch(v -> v == Math.rint(v));
        if (integral) xr = xr.wholeSteps(); // steps or tasks 1..4: ticks 1, 2, 3, 4 rather than 1.0, 1.5, ...
        NiceRange yr = logY ? NiceRange.log(ys.min, ys.max) : NiceRange.of(ys.min, ys.max, NiceRange.PAD, yLimits.min(), yLimits.max());
        XYChart chart = xyChart(title, xLabel, yLabel);
        chart.getStyler().setYAxisLogarithmic(logY);
        Names names = new Names();
        int k = 0;
        for (Series s : series) {
            double[] y = s.y().clone();
            for (int i = 0; i < y.length; i++) if (!Double.isFinite(y[i]) || (logY && y[i] <= 0)) y[i] = Double.NaN;
            double[] err = s.yErr() == null ? null : Arrays.stream(s.yErr()).map(e -> Double.isFinite(e) ? Math.abs(e) : 0).toArray();
            XYSeries xy = err == null ? chart.addSeries(names.unique(s.name()), s.x(), y) : chart.addSeries(names.unique(s.name()), s.x(), y, err);
            Color c = s.color() != null ? s.color() : PALETTE[k++ % PALETTE.length];
            xy.setLineColor(c);
            xy.setMarkerColor(c);
            xy.setLineStyle(s.dashed() ? DASHED : SOLID);
            xy.setMarker(s.markers() ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        }
        return new XyPlot(chart, xr, yr, logY);
    }

    /**
     * Heatmap of {@code values[row][col]}, first row on top; NaN cells are grey. The colour scale spans the values,
     * snapped to round numbers; cells show their value when they are large enough to hold it.
     *
     * <pre>{@code
     * Plots.heatmap(out.resolve("omega.png"), "log10 ||Omega||", new String[]{"layer 0", "layer 1"},
     *         new String[]{"q_proj", "v_proj"}, new double[][]{{-3.1, -2.5}, {-2.9, Double.NaN}}, "log10 norm");
     * }</pre>
     */
    public static void heatmap(Path file, String title, String[] rows, String[] cols, double[][] values, String valueLabel) throws IOException {
        write(file, title, heatmapChart(title, rows, cols, values, valueLabel));
    }

    static HeatMapChart heatmapChart(String title, String[] rows, String[] cols, double[][] values, String valueLabel) {
        if (rows.length == 0 || cols.length == 0) throw new IllegalArgumentException("heatmap needs at least one row and column");
        if (values.length != rows.length) throw new IllegalArgumentException(values.length + " value rows for " + rows.length + " row labels");
        MinMax vs = new MinMax();
        for (double[] r : values) {
            if (r.length != cols.length) throw new IllegalArgumentException(r.length + " values in a row for " + cols.length + " columns");
            for (double v : r) if (Double.isFinite(v)) vs.add(v);
        }
        NiceRange vr = NiceRange.of(vs.min, vs.max, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        // XChart has no colour-bar title, so the value label goes into the chart title.
        HeatMapChart chart = new HeatMapChartBuilder().width(WIDTH).height(HEIGHT)
                .title(valueLabel == null || valueLabel.isBlank() ? title : title + "  [colour: " + valueLabel + "]").build();
        HeatMapStyler st = chart.getStyler();
        house(st);
        st.setPlotContentSize(1.0);
        st.setPlotBackgroundColor(MISSING); // cells without a value are not drawn: the background shows through
        st.setPlotGridLinesVisible(false);
        st.setRangeColors(HEAT);
        st.setMin(vr.lo());
        st.setMax(vr.hi());
        st.setGradientColorColumnHeight(HEIGHT / 2);
        st.setGradientColorColumnWeight(22);
        st.setHeatMapValueDecimalPattern("0.00");
        st.setValueFont(new Font(FONT, Font.PLAIN, 13));
        st.setValueFontColor(Color.BLACK);
        // rough plot size (title, axis labels and colour bar taken off) to decide whether "-12.34" fits into a cell
        double cellW = (WIDTH - 320.0) / cols.length, cellH = (HEIGHT - 130.0) / rows.length;
        st.setShowValue(cellW >= 56 && cellH >= 20);
        List<String> xs = List.of(cols);
        List<String> ys = new ArrayList<>(List.of(rows));
        Collections.reverse(ys); // XChart puts category 0 at the bottom; the first row belongs on top
        List<Number[]> heat = new ArrayList<>();
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < cols.length; j++) {
                if (Double.isFinite(values[i][j])) heat.add(new Number[]{j, rows.length - 1 - i, values[i][j]});
            }
        }
        chart.addSeries(title, uniqueLabels(xs), uniqueLabels(ys), heat);
        return chart;
    }

    /**
     * Scatter plot: one colour and marker per point, its label written next to it (moved where labels would overlap;
     * shared by points at the same spot) and in the legend.
     *
     * <pre>{@code
     * Plots.scatter(out.resolve("ppl_vs_acc.png"), "PPL vs accuracy", "perplexity", "accuracy %",
     *         List.of(new Plots.Point("lora", 12.1, 61.0), new Plots.Point("si_lora", 11.4, 64.5)));
     * }</pre>
     */
    public static void scatter(Path file, String title, String xLabel, String yLabel, List<Point> points) throws IOException {
        write(file, title, scatterChart(title, xLabel, yLabel, points));
    }

    static XyPlot scatterChart(String title, String xLabel, String yLabel, List<Point> points) {
        MinMax xs = new MinMax(), ys = new MinMax();
        for (Point p : points) {
            if (Double.isFinite(p.x()) && Double.isFinite(p.y())) {
                xs.add(p.x());
                ys.add(p.y());
            }
        }
        NiceRange xr = NiceRange.of(xs.min, xs.max, NiceRange.PAD, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        // more headroom on y: the labels sit above the points
        NiceRange yr = NiceRange.of(ys.min, ys.max, 2 * NiceRange.PAD, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        XYChart chart = xyChart(title, xLabel, yLabel);
        chart.getStyler().setMarkerSize(11);
        Names names = new Names();
        int k = 0;
        for (Point p : points) {
            Color c = PALETTE[k % PALETTE.length];
            XYSeries s = chart.addSeries(names.unique(p.label()), new double[]{p.x()}, new double[]{Double.isFinite(p.y()) ? p.y() : Double.NaN});
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            s.setMarker(MARKERS[k % MARKERS.length]);
            s.setMarkerColor(c);
            s.setLineColor(c);
            k++;
        }
        return new XyPlot(chart, xr, yr, false, points);
    }

    /** Trade-off plot without axis limits, see {@link #front(Path, String, String, String, List, Limits, Limits)}. */
    public static void front(Path file, String title, String xLabel, String yLabel, List<Front> fronts) throws IOException {
        front(file, title, xLabel, yLabel, fronts, Limits.NONE, Limits.NONE);
    }

    /**
     * Trade-off plot: per method one line with markers through its points in x order, each point with its 95 %
     * intervals drawn as horizontal and vertical whiskers (with caps) in the method's colour.
     *
     * <pre>{@code
     * Plots.front(out.resolve("front.png"), "Forgetting vs new-task accuracy", "forgetting (pp)", "accuracy",
     *         List.of(new Plots.Front("si", x, xLo, xHi, y, yLo, yHi)), Plots.Limits.NONE, Plots.Limits.UNIT);
     * }</pre>
     */
    public static void front(Path file, String title, String xLabel, String yLabel, List<Front> fronts, Limits xLimits, Limits yLimits)
            throws IOException {
        write(file, title, frontChart(title, xLabel, yLabel, fronts, xLimits, yLimits));
    }

    static XyPlot frontChart(String title, String xLabel, String yLabel, List<Front> fronts, Limits xLimits, Limits yLimits) {
        MinMax xs = new MinMax(), ys = new MinMax();
        for (Front f : fronts) {
            for (int i = 0; i < f.x().length; i++) {
                xs.add(f.xLo()[i]);
                xs.add(f.xHi()[i]);
                ys.add(f.yLo()[i]);
                ys.add(f.yHi()[i]);
            }
        }
        NiceRange xr = NiceRange.of(xs.min, xs.max, NiceRange.PAD, xLimits.min(), xLimits.max());
        NiceRange yr = NiceRange.of(ys.min, ys.max, NiceRange.PAD, yLimits.min(), yLimits.max());
        // caps: 0.8 % of the other axis, about 4 px either side
        double capX = 0.008 * (xr.hi() - xr.lo()), capY = 0.008 * (yr.hi() - yr.lo());
        XYChart chart = xyChart(title, xLabel, yLabel);
        chart.getStyler().setMarkerSize(10);
        Names names = new Names();
        int k = 0;
        for (Front f : fronts) {
            Color c = PALETTE[k % PALETTE.length];
            int[] order = IntStream.range(0, f.x().length).boxed().sorted(Comparator.comparingDouble(i -> f.x()[i]))
                    .mapToInt(Integer::intValue).toArray();
            // XChart draws symmetric y error bars only, and 95 % intervals are often asymmetric, so both directions are
            // drawn here: one hidden series of whisker segments separated by NaN (a NaN y breaks an XChart line).
            List<double[]> seg = new ArrayList<>();
            for (int i : order) {
                double x = f.x()[i], y = f.y()[i];
                seg.add(new double[]{f.xLo()[i], y, f.xHi()[i], y});
                seg.add(new double[]{f.xLo()[i], y - capY, f.xLo()[i], y + capY});
                seg.add(new double[]{f.xHi()[i], y - capY, f.xHi()[i], y + capY});
                seg.add(new double[]{x, f.yLo()[i], x, f.yHi()[i]});
                seg.add(new double[]{x - capX, f.yLo()[i], x + capX, f.yLo()[i]});
                seg.add(new double[]{x - capX, f.yHi()[i], x + capX, f.yHi()[i]});
            }
            double[] wx = new double[3 * seg.size()], wy = new double[3 * seg.size()];
            for (int s = 0; s < seg.size(); s++) {
                double[] g = seg.get(s);
                wx[3 * s] = g[0];
                wy[3 * s] = g[1];
                wx[3 * s + 1] = g[2];
                wy[3 * s + 1] = g[3];
                wx[3 * s + 2] = g[2];
                wy[3 * s + 2] = Double.NaN;
            }
            XYSeries w = chart.addSeries(names.unique(f.name() + " 95% intervals"), wx, wy);
            w.setShowInLegend(false);
            w.setLineColor(c);
            w.setLineStyle(WHISKER);
            w.setMarker(SeriesMarkers.NONE);

            double[] lx = Arrays.stream(order).mapToDouble(i -> f.x()[i]).toArray();
            double[] ly = Arrays.stream(order).mapToDouble(i -> f.y()[i]).toArray();
            XYSeries s = chart.addSeries(names.unique(f.name()), lx, ly);
            s.setLineColor(c);
            s.setMarkerColor(c);
            s.setLineStyle(SOLID);
            s.setMarker(MARKERS[k % MARKERS.length]);
            k++;
        }
        return new XyPlot(chart, xr, yr, false);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // rendering

    /** An XY chart, the axis ranges {@link #render} draws it with, and the points to label (scatter plots). */
    record XyPlot(XYChart chart, NiceRange x, NiceRange y, boolean logY, List<Point> labels) {
        XyPlot(XYChart chart, NiceRange x, NiceRange y, boolean logY) {
            this(chart, x, y, logY, List.of());
        }
    }

    private static XYChart xyChart(String title, String xLabel, String yLabel) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        XYStyler st = chart.getStyler();
        house(st);
        st.setPlotContentSize(CONTENT);
        st.setMarkerSize(8);
        st.setErrorBarsColorSeriesColor(true);
        st.setLegendSeriesLineLength(34); // long enough to show a dash
        return chart;
    }

    /** The common look: white, fixed palette, readable fonts, legend outside the plot. */
    private static void house(AxesChartStyler st) {
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setPlotBorderVisible(true);
        st.setPlotBorderColor(new Color(0x999999));
        st.setPlotGridLinesColor(new Color(0xe3e3e3));
        st.setPlotGridLinesStroke(new BasicStroke(1f));
        st.setChartFontColor(Color.BLACK);
        st.setChartTitleBoxVisible(false);
        st.setChartTitleFont(new Font(FONT, Font.BOLD, 18));
        st.setAxisTitleFont(new Font(FONT, Font.PLAIN, 15));
        st.setAxisTickLabelsFont(new Font(FONT, Font.PLAIN, 13));
        st.setAxisTickLabelsColor(new Color(0x333333));
        st.setAnnotationTextFont(new Font(FONT, Font.PLAIN, 13));
        st.setAnnotationTextFontColor(new Color(0x222222));
        st.setLegendFont(new Font(FONT, Font.PLAIN, 14));
        st.setLegendPosition(Styler.LegendPosition.OutsideE);
        st.setLegendBorderColor(new Color(0xcccccc));
        st.setLegendBackgroundColor(Color.WHITE);
        st.setLegendPadding(8);
        st.setSeriesColors(PALETTE);
        st.setChartPadding(12);
        st.setLocale(Locale.ROOT);
        st.setAntiAlias(true);
        st.setToolTipsEnabled(false);
    }

    /**
     * Paints the chart twice: the first pass lays it out, so that the second can ask XChart for exactly the planned
     * tick step (XChart derives the step from a pixel spacing hint, which depends on the plot size).
     */
    static BufferedImage render(XyPlot r) {
        XYChart chart = r.chart();
        XYStyler st = chart.getStyler();
        st.setXAxisMin(r.x().lo());
        st.setXAxisMax(r.x().hi());
        st.setYAxisMin(r.y().lo());
        st.setYAxisMax(r.y().hi());
        st.setXAxisDecimalPattern(pattern(r.x()));
        if (!r.logY()) st.setYAxisDecimalPattern(pattern(r.y()));
        // When the x (or y) values are equally spaced XChart puts the ticks on every k-th data point instead, which need
        // not be round (x = 1..200 on 0..200); one invisible point off that grid (y = NaN is never drawn) prevents it.
        if (!chart.getSeriesMap().containsKey(GUARD)) {
            XYSeries g = chart.addSeries(GUARD, new double[]{r.x().lo() + r.x().step() / Math.PI}, new double[]{Double.NaN});
            g.setShowInLegend(false);
            g.setMarker(SeriesMarkers.NONE);
            g.setLineColor(Color.WHITE);
        }
        BitmapEncoder.getBufferedImage(chart);
        st.setXAxisTickMarkSpacingHint(hint(r.x(), Math.abs(chart.getScreenXFromChart(r.x().hi()) - chart.getScreenXFromChart(r.x().lo()))));
        if (!r.logY()) {
            st.setYAxisTickMarkSpacingHint(hint(r.y(), Math.abs(chart.getScreenYFromChart(r.y().hi()) - chart.getScreenYFromChart(r.y().lo()))));
        }
        BufferedImage img = BitmapEncoder.getBufferedImage(chart);
        if (r.labels().isEmpty()) return img;
        placeLabels(chart, r.labels()); // needs the final layout: screen positions of the points
        return BitmapEncoder.getBufferedImage(chart);
    }

    /**
     * Writes each point's label above it, or below or further away where that would overlap another label or marker;
     * points drawn at the same spot (methods with equal results) share one label, "a, b".
     */
    private static void placeLabels(XYChart chart, List<Point> points) {
        Font font = chart.getStyler().getAnnotationTextFont();
        FontRenderContext frc = new FontRenderContext(null, true, true);
        List<double[]> at = new ArrayList<>();
        List<String> text = new ArrayList<>();
        for (Point p : points) {
            if (!Double.isFinite(p.x()) || !Double.isFinite(p.y())) continue;
            double sx = chart.getScreenXFromChart(p.x()), sy = chart.getScreenYFromChart(p.y());
            int same = -1;
            for (int i = 0; i < at.size() && same < 0; i++) if (Math.hypot(at.get(i)[0] - sx, at.get(i)[1] - sy) < 4) same = i;
            if (same >= 0) {
                text.set(same, text.get(same) + ", " + p.label());
            } else {
                at.add(new double[]{sx, sy});
                text.add(p.label());
            }
        }
        int m = chart.getStyler().getMarkerSize();
        List<Rectangle2D> taken = new ArrayList<>();
        for (double[] a : at) taken.add(new Rectangle2D.Double(a[0] - m / 2.0 - 1, a[1] - m / 2.0 - 1, m + 2, m + 2));
        double h = font.getSize2D() + 3;
        double[] offsets = {-(m / 2.0 + h / 2 + 3), m / 2.0 + h / 2 + 3};
        for (int i = 0; i < at.size(); i++) {
            double w = font.getStringBounds(text.get(i), frc).getWidth() + 4;
            double sx = at.get(i)[0], sy = at.get(i)[1];
            Rectangle2D best = null;
            for (int ring = 0; ring < 4 && best == null; ring++) {
                for (double o : offsets) {
                    double cy = sy + o + Math.signum(o) * ring * h;
                    Rectangle2D box = new Rectangle2D.Double(sx - w / 2, cy - h / 2, w, h);
                    if (taken.stream().noneMatch(box::intersects)) {
                        best = box;
                        break;
                    }
                }
            }
            if (best == null) best = new Rectangle2D.Double(sx - w / 2, sy + offsets[0] - h / 2, w, h);
            taken.add(best);
            // screen-space annotation: x is the centre, y the centre measured from the bottom of the chart
            chart.addAnnotation(new AnnotationText(text.get(i), best.getCenterX(), chart.getHeight() - best.getCenterY(), true));
        }
    }

    private static final String GUARD = "\u0000tick guard";

    /**
     * The spacing hint (pixels) for which XChart's tick search lands on {@code r.step()}: it rounds {@code span / px *
     * hint} to 1, 2, 5 or 10 times a power of ten; 1.2 times the step sits well inside the band that rounds to it.
     */
    private static int hint(NiceRange r, double px) {
        if (!(px > 0) || Double.isNaN(r.step())) return 74;
        return (int) Math.max(20, Math.round(1.2 * r.step() / (r.hi() - r.lo()) * px));
    }

    private static String pattern(NiceRange r) {
        int d = r.decimals();
        return d == 0 ? "0" : "0." + "0".repeat(d);
    }

    private static void write(Path file, String title, XyPlot r) throws IOException {
        PngFile.write(render(r), file, title);
    }

    private static void write(Path file, String title, Chart<?, ?> chart) throws IOException {
        PngFile.write(BitmapEncoder.getBufferedImage(chart), file, title);
    }

    /** Running min and max. */
    private static final class MinMax {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;

        void add(double v) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
    }

    /** XChart needs unique series names: a repeated one gets " (2)", " (3)", ... */
    private static final class Names {
        private final Set<String> used = new HashSet<>();

        String unique(String name) {
            String n = name;
            for (int i = 2; !used.add(n); i++) n = name + " (" + i + ")";
            return n;
        }
    }

    private static List<String> uniqueLabels(List<String> labels) {
        Names n = new Names();
        return labels.stream().map(n::unique).toList();
    }
}
