package org.silora.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The MNIST file format: round trip, the shipped file, corrupt files. */
class MnistDataTest {

    @Test
    void roundTrip(@TempDir Path dir) throws IOException {
        byte[][] px = new byte[3][MnistDigits.PIXELS];
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < MnistDigits.PIXELS; k++) {
                px[i][k] = (byte) ((k * 7 + i * 31) % 256);
            }
        }
        MnistDigits d = MnistDigits.of(px, new int[] {7, 0, 9});
        Path f = dir.resolve("x.bin.gz");
        d.save(f);
        MnistDigits back = MnistDigits.load(f);
        assertEquals(3, back.size());
        assertArrayEquals(new int[] {7, 0, 9}, back.labels());
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(px[i], back.pixels(i));
            float[] img = back.image(i);
            for (int k = 0; k < MnistDigits.PIXELS; k++) {
                assertEquals((px[i][k] & 0xff) / 255f, img[k]);
                assertEquals(px[i][k] & 0xff, MnistDigits.quantize(img[k]));
            }
        }
        assertArrayEquals(d.toGzipBytes(), Files.readAllBytes(f), "deterministic bytes");
    }

    @Test
    void quantizeRoundsHalfUpAndClamps() {
        assertEquals(0, MnistDigits.quantize(0));
        assertEquals(1, MnistDigits.quantize(0.004));   // the source writes 1/255 as 0.004
        assertEquals(128, MnistDigits.quantize(127.5 / 255));
        assertEquals(255, MnistDigits.quantize(1));
        assertEquals(255, MnistDigits.quantize(1.5));
        assertEquals(0, MnistDigits.quantize(-0.1));
    }

    @Test
    void shippedFileHasTenThousandDigits() {
        MnistDigits d = MnistDigits.load();
        assertEquals(10_000, d.size());
        int[] count = new int[10];
        for (int y : d.labels()) {
            count[y]++;
        }
        // the npm package's per-digit files are not exactly 1000 each
        assertArrayEquals(new int[] {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978}, count);
        float[][] x = d.images();
        assertEquals(MnistDigits.PIXELS, x[0].length);
        double mean = 0;
        float max = 0;
        for (float[] img : x) {
            for (float v : img) {
                assertTrue(v >= 0 && v <= 1);
                mean += v;
                max = Math.max(max, v);
            }
        }
        mean /= 10_000.0 * MnistDigits.PIXELS;
        assertEquals(1f, max);
        assertEquals(0.13, mean, 0.02, "MNIST's mean intensity is about 0.13");
    }

    @Test
    void corruptFilesFailNamingTheFile(@TempDir Path dir) throws IOException {
        byte[] good = gunzip(MnistDigits.of(new byte[][] {new byte[MnistDigits.PIXELS]}, new int[] {3}).toGzipBytes());

        byte[] badMagic = good.clone();
        badMagic[0] = 'X';
        expectError(dir, "magic.bin.gz", gzip(badMagic), "bad magic");

        expectError(dir, "short.bin.gz", gzip(Arrays.copyOf(good, good.length - 1)), "expected");
        expectError(dir, "long.bin.gz", gzip(Arrays.copyOf(good, good.length + 5)), "expected");

        byte[] badVersion = good.clone();
        badVersion[7] = 2;
        expectError(dir, "version.bin.gz", gzip(badVersion), "version");

        byte[] badLabel = good.clone();
        badLabel[badLabel.length - 1] = 10;
        expectError(dir, "label.bin.gz", gzip(badLabel), "label 10");

        expectError(dir, "plain.bin.gz", good, "gzip");
        expectError(dir, "tiny.bin.gz", gzip(new byte[] {'S', 'I'}), "too short");
    }

    private static void expectError(Path dir, String name, byte[] content, String fragment) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, content);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MnistDigits.load(f));
        assertTrue(e.getMessage().contains(name), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    private static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bos)) {
            out.write(b);
        }
        return bos.toByteArray();
    }

    private static byte[] gunzip(byte[] b) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(b))) {
            return in.readAllBytes();
        }
    }
}
