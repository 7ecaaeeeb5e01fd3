package org.silora.demo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Node;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import java.awt.Color;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The XChart-based {@link Plots}: every chart type as a real PNG, the axis-range arithmetic and Front's checks. */
class PlotsTest {

    @TempDir
    Path dir;

    private static final double[] X = {1, 2, 3, 4, 5};

    // ---------------------------------------------------------------- files and pixels

    @Test
    void linesChartIsAtLeast900x560AndShowsEverySeriesColourAndLeavesNoTempFile() throws IOException {
        Path png = dir.resolve("lines.png");
        Plots.lines(png, "mean accuracy", "after task", "accuracy", List.of(
                new Plots.Series("finetune", X, new double[]{0.99, 0.85, 0.78, 0.72, 0.70}).withMarkers(),
                new Plots.Series("si", X, new double[]{0.99, 0.97, 0.96, 0.96, 0.95}).withErrors(new double[]{0, .01, .01, .02, .02}),
                Plots.Series.reference("joint", 1, 5, 0.987)), false, Plots.Limits.UNIT);
        BufferedImage img = read(png);
        assertTrue(img.getWidth() >= 900 && img.getHeight() >= 560, img.getWidth() + "x" + img.getHeight());
        assertColour(img, Plots.PALETTE[0], "finetune");
        assertColour(img, Plots.PALETTE[1], "si");
        assertColour(img, Plots.REFERENCE, "joint reference line");
        assertEquals(Color.WHITE.getRGB(), img.getRGB(2, 2), "white background");
        assertOnly(png);
    }

    @Test
    void pngCarriesSoftwareAndTitleTextChunks() throws IOException {
        Path png = dir.resolve("t.png");
        Plots.lines(png, "Phase mu (tiny)", "step", "loss", List.of(new Plots.Series("loss", X, X)), false);
        Map<String, String> text = pngText(png);
        assertEquals("silora", text.get("Software"));
        assertEquals("Phase mu (tiny)", text.get("Title"));
    }

    @Test
    void titleOutsideLatin1IsKeptInAnInternationalTextChunk() throws IOException {
        Path png = dir.resolve("u.png");
        Plots.lines(png, "phase μ, λ = 10⁵", "step", "loss", List.of(new Plots.Series("loss", X, X)), false);
        assertEquals("phase μ, λ = 10⁵", pngText(png).get("Title"));
        assertEquals("silora", pngText(png).get("Software"));
    }

    @Test
    void rewritingAChartReplacesTheFileAndLeavesNoTempFile() throws IOException {
        Path png = dir.resolve("again.png");
        Plots.lines(png, "first", "x", "y", List.of(new Plots.Series("a", X, X)), false);
        Plots.lines(png, "second", "x", "y", List.of(new Plots.Series("a", X, X)), false);
        assertEquals("second", pngText(png).get("Title"));
        assertOnly(png);
    }

    @Test
    void aPngWriteThatFailsMidwayKeepsThePreviousFileAndLeavesNoTempFile() throws IOException {
        Path png = dir.resolve("kept.png");
        Plots.lines(png, "first", "x", "y", List.of(new Plots.Series("a", X, X)), false);
        byte[] before = Files.readAllBytes(png);
        // the encoder reads the image a row at a time while it writes: this one fails after 50 rows, mid-file
        int[] rows = {0};
        BufferedImage failing = new BufferedImage(Plots.WIDTH, Plots.HEIGHT, BufferedImage.TYPE_INT_RGB) {
            @Override
            public Raster getData(Rectangle r) {
                if (++rows[0] > 50) throw new IllegalStateException("the disk went away");
                return super.getData(r);
            }
        };
        assertThrows(IllegalStateException.class, () -> PngFile.write(failing, png, "second"));
        assertTrue(rows[0] > 50, "the encoder had begun: " + rows[0] + " rows read");
        assertArrayEquals(before, Files.readAllBytes(png), "the previous chart is still there, whole");
        assertEquals("first", pngText(png).get("Title"));
        assertOnly(png);
    }

    @Test
    void logLinesLeaveOutNonPositiveAndNonFiniteValuesAndStillDrawTheRest() throws IOException {
        Path png = dir.resolve("log.png");
        Plots.lines(png, "loss and penalty", "step", "value", List.of(
                new Plots.Series("loss", X, new double[]{3.2, 1.1, 0.4, 0.0, 0.2}),
                new Plots.Series("penalty", X, new double[]{Double.NaN, 1e-3, 4e-3, -1, 2e-2})), true);
        BufferedImage img = read(png);
        assertColour(img, Plots.PALETTE[0], "loss");
        assertColour(img, Plots.PALETTE[1], "penalty");
    }

    @Test
    void linesWithoutAnySeriesStillGiveAnEmptyChart() throws IOException {
        Path png = dir.resolve("empty.png");
        Plots.lines(png, "nothing yet", "step", "loss", List.of(), false);
        assertEquals(Plots.WIDTH, read(png).getWidth());
    }

    @Test
    void heatmapShowsLowestAndHighestRampColoursAndGreyForMissingCells() throws IOException {
        Path png = dir.resolve("heat.png");
        Plots.heatmap(png, "log10 ||Omega||", new String[]{"layer 0", "layer 1", "layer 2"}, new String[]{"q_proj", "v_proj"},
                new double[][]{{-6.0, -4.5}, {-3.2, Double.NaN}, {-2.0, -5.1}}, "log10 norm");
        BufferedImage img = read(png);
        assertTrue(img.getWidth() >= 900 && img.getHeight() >= 560);
        assertColour(img, Plots.HEAT[0], "lowest value");
        assertColour(img, Plots.HEAT[Plots.HEAT.length - 1], "highest value");
        assertColour(img, Plots.MISSING, "NaN cell");
        assertOnly(png);
    }

    @Test
    void scatterDrawsEveryPointInItsOwnPaletteColour() throws IOException {
        Path png = dir.resolve("scatter.png");
        Plots.scatter(png, "General PPL vs domain accuracy", "perplexity", "accuracy %", List.of(
                new Plots.Point("lora", 12.1, 61.0), new Plots.Point("si_lora", 11.4, 64.5), new Plots.Point("base", 10.9, 40.2)));
        BufferedImage img = read(png);
        for (int i = 0; i < 3; i++) assertColour(img, Plots.PALETTE[i], "point " + i);
        assertOnly(png);
    }

    @Test
    void scatterWithPointsAtTheSameSpotStillDrawsEachColourItCan() throws IOException {
        Path png = dir.resolve("same.png");
        Plots.scatter(png, "ties", "ppl", "acc", List.of(new Plots.Point("a", 164.5, 18.75), new Plots.Point("b", 164.5, 18.75),
                new Plots.Point("c", 166.3, 18.75), new Plots.Point("d", 166.45, 18.75)));
        BufferedImage img = read(png);
        assertColour(img, Plots.PALETTE[2], "c");
        assertColour(img, Plots.PALETTE[3], "d, drawn last");
    }

    @Test
    void frontShowsEveryMethodColourAndLeavesNoTempFile() throws IOException {
        Path png = dir.resolve("front.png");
        Plots.front(png, "forgetting vs accuracy", "forgetting (pp)", "accuracy", fronts());
        BufferedImage img = read(png);
        assertTrue(img.getWidth() >= 900 && img.getHeight() >= 560);
        assertColour(img, Plots.PALETTE[0], "si");
        assertColour(img, Plots.PALETTE[1], "ewc");
        assertOnly(png);
    }

    @Test
    void frontDrawsBothIntervalsOfAPointInTheMethodColour() {
        // one point with wide, asymmetric intervals: probe half-way along each whisker, well away from the marker
        Plots.Front f = new Plots.Front("m", new double[]{10}, new double[]{4}, new double[]{12},
                new double[]{0.5}, new double[]{0.3}, new double[]{0.55});
        Plots.XyPlot r = Plots.frontChart("t", "x", "y", List.of(f), Plots.Limits.NONE, Plots.Limits.NONE);
        BufferedImage img = Plots.render(r);
        int y = (int) Math.round(r.chart().getScreenYFromChart(0.5));
        int xLeft = (int) Math.round(r.chart().getScreenXFromChart(6));
        assertTrue(near(img, xLeft, y, Plots.PALETTE[0]), "x interval drawn left of the point");
        int x = (int) Math.round(r.chart().getScreenXFromChart(10));
        int yLow = (int) Math.round(r.chart().getScreenYFromChart(0.36));
        assertTrue(near(img, x, yLow, Plots.PALETTE[0]), "y interval drawn below the point");
        int outside = (int) Math.round(r.chart().getScreenXFromChart(13));
        assertTrue(!near(img, outside, y, Plots.PALETTE[0]), "nothing beyond xHi");
    }

    // ---------------------------------------------------------------- axis ranges

    @Test
    void niceRangePadsTheDataAndSnapsToRoundBoundsAndTicks() {
        NiceRange r = NiceRange.of(211.7, 326.1);
        assertEquals(200, r.lo(), 1e-12);
        assertEquals(340, r.hi(), 1e-12);
        assertEquals(20, r.step(), 1e-12);
        assertArrayEquals(new double[]{200, 220, 240, 260, 280, 300, 320, 340}, r.ticks(), 1e-12);
        assertEquals(0, r.decimals());

        NiceRange s = NiceRange.of(0.251, 0.292);
        assertEquals(0.24, s.lo(), 0);
        assertEquals(0.30, s.hi(), 0);
        assertEquals(0.01, s.step(), 0);
        assertArrayEquals(new double[]{0.24, 0.25, 0.26, 0.27, 0.28, 0.29, 0.30}, s.ticks(), 0, "no 0.30000000000000004");
        assertEquals(2, s.decimals());

        NiceRange n = NiceRange.of(-7.3, -2.1);
        assertEquals(-8, n.lo(), 0);
        assertEquals(-1, n.hi(), 0);
        assertEquals(1, n.step(), 0);
    }

    @Test
    void niceRangeWithoutPaddingSpansTheDataExactlyWhenItIsRound() {
        NiceRange tasks = NiceRange.of(1, 5, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        assertEquals(1, tasks.lo(), 0);
        assertEquals(5, tasks.hi(), 0);
        assertEquals(1, tasks.step(), 0);
        NiceRange steps = NiceRange.of(1, 200, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        assertEquals(0, steps.lo(), 0);
        assertEquals(200, steps.hi(), 0);
        assertEquals(50, steps.step(), 0);
    }

    @Test
    void integerDataGetsWholeNumberTicks() {
        NiceRange steps = NiceRange.of(1, 4, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY).wholeSteps();
        assertEquals(1, steps.lo(), 0);
        assertEquals(4, steps.hi(), 0);
        assertEquals(1, steps.step(), 0, "not 0.5");
        NiceRange wide = NiceRange.of(0, 200);
        assertEquals(wide, wide.wholeSteps(), "a step of 1 or more stays");
    }

    @Test
    void niceRangeStopsAtLimitsButNeverCutsData() {
        NiceRange acc = NiceRange.of(0.68, 0.999, NiceRange.PAD, 0, 1);
        assertEquals(0.65, acc.lo(), 0);
        assertEquals(1.0, acc.hi(), 0, "padding would give 1.05, above the limit");
        assertEquals(0.05, acc.step(), 0);
        NiceRange low = NiceRange.of(0.01, 0.9, NiceRange.PAD, 0, 1);
        assertEquals(0, low.lo(), 0, "not -0.1");
        NiceRange outside = NiceRange.of(-0.2, 0.5, NiceRange.PAD, 0, 1);
        assertTrue(outside.lo() <= -0.2, "data below the limit still shows: " + outside);
    }

    @Test
    void niceRangeOfOneValueOrNoDataIsStillAProperRange() {
        NiceRange one = NiceRange.of(3, 3);
        assertTrue(one.lo() < 3 && 3 < one.hi(), one.toString());
        NiceRange zero = NiceRange.of(0, 0);
        assertTrue(zero.lo() < 0 && 0 < zero.hi(), zero.toString());
        NiceRange none = NiceRange.of(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
        assertEquals(0, none.lo(), 0);
        assertEquals(1, none.hi(), 0);
        assertThrows(IllegalArgumentException.class, () -> NiceRange.of(2, 1));
    }

    @Test
    void niceStepIsOneTwoOrFiveTimesAPowerOfTen() {
        assertEquals(20, NiceRange.step(25.17), 0);
        assertEquals(0.01, NiceRange.step(0.00902), 0);
        assertEquals(5, NiceRange.step(4), 0);
        assertEquals(1, NiceRange.step(1.3), 0);
        assertEquals(0.002, NiceRange.step(0.0017), 0);
        assertEquals(100, NiceRange.step(80), 0);
    }

    @Test
    void logRangeSnapsToWholeDecades() {
        NiceRange r = NiceRange.log(0.03, 250);
        assertEquals(0.01, r.lo(), 1e-15);
        assertEquals(1000, r.hi(), 1e-9);
        NiceRange one = NiceRange.log(10, 10);
        assertEquals(10, one.lo(), 1e-12);
        assertEquals(100, one.hi(), 1e-9);
    }

    // ---------------------------------------------------------------- validation

    @Test
    void frontRejectsArraysOfDifferentLengths() {
        assertThrows(IllegalArgumentException.class, () -> new Plots.Front("m", new double[]{1, 2}, new double[]{0, 1},
                new double[]{2, 3}, new double[]{1}, new double[]{0}, new double[]{2}));
    }

    @Test
    void frontRejectsIntervalsThatDoNotContainTheirValue() {
        assertThrows(IllegalArgumentException.class, () -> new Plots.Front("m", new double[]{1}, new double[]{1.5},
                new double[]{2}, new double[]{1}, new double[]{0}, new double[]{2}), "xLo > x");
        assertThrows(IllegalArgumentException.class, () -> new Plots.Front("m", new double[]{1}, new double[]{0},
                new double[]{2}, new double[]{1}, new double[]{0}, new double[]{0.9}), "yHi < y");
    }

    @Test
    void frontRejectsNonFiniteValuesAndEmptyOrMissingArrays() {
        assertThrows(IllegalArgumentException.class, () -> new Plots.Front("m", new double[]{1}, new double[]{0},
                new double[]{Double.POSITIVE_INFINITY}, new double[]{1}, new double[]{0}, new double[]{2}));
        assertThrows(IllegalArgumentException.class, () -> new Plots.Front("m", new double[]{Double.NaN}, new double[]{0},
                new double[]{2}, new double[]{1}, new double[]{0}, new double[]{2}));
        assertThrows(IllegalArgumentException.class, () -> new Plots.Front("m", new double[0], new double[0],
                new double[0], new double[0], new double[0], new double[0]));
        assertThrows(NullPointerException.class, () -> new Plots.Front("m", new double[]{1}, null,
                new double[]{2}, new double[]{1}, new double[]{0}, new double[]{2}));
    }

    @Test
    void frontKeepsItsOwnCopyOfTheArrays() {
        double[] x = {1};
        Plots.Front f = new Plots.Front("m", x, new double[]{0}, new double[]{2}, new double[]{1}, new double[]{0}, new double[]{2});
        x[0] = 5;
        assertEquals(1, f.x()[0], 0);
    }

    @Test
    void seriesRejectsMismatchedLengthsAndLimitsRejectAnEmptyInterval() {
        assertThrows(IllegalArgumentException.class, () -> new Plots.Series("s", X, new double[]{1, 2}));
        assertThrows(IllegalArgumentException.class, () -> new Plots.Series("s", X, X).withErrors(new double[]{1}));
        assertThrows(IllegalArgumentException.class, () -> new Plots.Limits(1, 1));
    }

    // ---------------------------------------------------------------- helpers

    private static List<Plots.Front> fronts() {
        return List.of(
                new Plots.Front("si", new double[]{2, 5, 9}, new double[]{1, 4, 7}, new double[]{3, 6.5, 10},
                        new double[]{0.80, 0.86, 0.90}, new double[]{0.78, 0.84, 0.87}, new double[]{0.82, 0.87, 0.92}),
                new Plots.Front("ewc", new double[]{4, 8}, new double[]{3, 6}, new double[]{5.5, 9},
                        new double[]{0.78, 0.83}, new double[]{0.75, 0.82}, new double[]{0.80, 0.85}));
    }

    private static BufferedImage read(Path png) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "a readable PNG: " + png);
        return img;
    }

    /** The file is the only entry of its folder: the temporary file was renamed, not left behind. */
    private static void assertOnly(Path png) throws IOException {
        try (Stream<Path> s = Files.list(png.getParent())) {
            List<String> names = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".") || n.endsWith(".tmp")).toList();
            assertEquals(List.of(), names, "temporary files left");
        }
    }

    /** At least 20 pixels in (nearly exactly) this colour: the series was drawn, not just listed. */
    private static void assertColour(BufferedImage img, Color c, String what) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) for (int x = 0; x < img.getWidth(); x++) if (close(img.getRGB(x, y), c)) n++;
        assertTrue(n >= 20, what + ": only " + n + " pixels of " + c);
    }

    /** A pixel in this colour within 2 px of (x, y). */
    private static boolean near(BufferedImage img, int x, int y, Color c) {
        for (int dy = -2; dy <= 2; dy++) for (int dx = -2; dx <= 2; dx++) if (close(img.getRGB(x + dx, y + dy), c)) return true;
        return false;
    }

    private static boolean close(int rgb, Color c) {
        Color p = new Color(rgb);
        return Math.abs(p.getRed() - c.getRed()) + Math.abs(p.getGreen() - c.getGreen()) + Math.abs(p.getBlue() - c.getBlue()) <= 12;
    }

    /** The tEXt and iTXt chunks of a PNG, keyword to text. */
    private static Map<String, String> pngText(Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            ImageReader r = ImageIO.getImageReaders(in).next();
            try {
                r.setInput(in, true, false);
                Node root = r.getImageMetadata(0).getAsTree("javax_imageio_png_1.0");
                for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                    boolean itxt = n.getNodeName().equals("iTXt");
                    if (!itxt && !n.getNodeName().equals("tEXt")) continue;
                    for (Node e = n.getFirstChild(); e != null; e = e.getNextSibling()) {
                        IIOMetadataNode m = (IIOMetadataNode) e;
                        out.put(m.getAttribute("keyword"), m.getAttribute(itxt ? "text" : "value"));
                    }
                }
            } finally {
                r.dispose();
            }
        }
        return out;
    }
}
