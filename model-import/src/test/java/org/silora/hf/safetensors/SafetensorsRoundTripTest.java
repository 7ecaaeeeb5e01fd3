package org.silora.hf.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.ModelFormatException;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    /** Values with hand-derived F16 patterns: 1, -2, 65504, 2^-24, 1023*2^-24, -0, inf, -inf, NaN, 0.1. */
    private static final float[] VALUES = {1f, -2f, 65504f, 0x1p-24f, 1023 * 0x1p-24f, -0.0f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0.1f};
    private static final int[] F16_BITS = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x8000, 0x7C00, 0xFC00, 0x7E00,
            0x2E66};
    /**
     * 1, -2, 65504 (0x477FE000 rounds up to 0x4780), 2^-24 (0x33800000), 1023*2^-24 (0x387FE000 rounds up to
     * 0x3880), -0, inf, -inf, NaN, 0.1 (0x3DCCCCCD rounds up to 0x3DCD).
     */
    private static final int[] BF16_BITS = {0x3F80, 0xC000, 0x4780, 0x3380, 0x3880, 0x8000, 0x7F80, 0xFF80, 0x7FC0,
            0x3DCD};

    private static INDArray values() {
        return Nd4j.createFromArray(VALUES).reshape(2, 5);
    }

    /** Data section of a written file, straight from the bytes. */
    private static ByteBuffer data(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong();
        assertEquals(0, (8 + n) % 8, "header padded to a multiple of 8");
        return b.position((int) (8 + n)).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void f16RoundTripHasTheExpectedBitsAndValues() throws IOException {
        Path f = dir.resolve("h.safetensors");
        SafetensorsWriter.write(f, Map.of("format", "pt"), Map.of("x", values()), DType.F16);
        ByteBuffer d = data(f);
        for (int i = 0; i < F16_BITS.length; i++) {
            assertEquals(F16_BITS[i], d.getShort(2 * i) & 0xffff, "element " + i);
        }
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(Map.of("format", "pt"), sf.metadata());
            TensorInfo t = sf.tensors().get("x");
            assertEquals(DType.F16, t.dtype());
            assertArrayEquals(new long[] {2, 5}, t.shape());
            INDArray a = sf.readFloat("x");
            assertEquals(DataType.FLOAT, a.dataType());
            assertArrayEquals(new long[] {2, 5}, a.shape());
            float[] got = a.data().asFloat();
            for (int i = 0; i < VALUES.length; i++) {
                assertEquals(Float.floatToIntBits(VALUES[i] == 0.1f ? 0.0999755859375f : VALUES[i]),
                        Float.floatToIntBits(got[i]), "element " + i);
            }
        }
    }

    @Test
    void bf16RoundTripHasTheExpectedBits() throws IOException {
        Path f = dir.resolve("b.safetensors");
        SafetensorsWriter.write(f, Map.of(), Map.of("x", values()), DType.BF16);
        ByteBuffer d = data(f);
        for (int i = 0; i < BF16_BITS.length; i++) {
            assertEquals(BF16_BITS[i], d.getShort(2 * i) & 0xffff, "element " + i);
        }
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            float[] got = sf.readFloat("x").data().asFloat();
            for (int i = 0; i < BF16_BITS.length; i++) {
                assertEquals(Float.intBitsToFloat(BF16_BITS[i] << 16), got[i], "element " + i);
            }
            assertEquals(65536f, got[2]);
        }
    }

    @Test
    void f32RoundTripIsExactAcrossBufferChunks() {
        Path f = dir.resolve("f.safetensors");
        INDArray big = Nd4j.rand(DataType.FLOAT, 700, 500); // 1.4 MB: more than one 1 MiB write buffer
        INDArray view = Nd4j.rand(DataType.FLOAT, 6, 8).get(
                org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 4), org.nd4j.linalg.indexing.NDArrayIndex.all());
        INDArray fortran = Nd4j.rand(DataType.FLOAT, 'f', 3, 4);
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put("big", big);
        m.put("v", values());
        m.put("view", view);
        m.put("fortran", fortran);
        m.put("transposed", fortran.transpose());
        m.put("scalar", Nd4j.scalar(3.5f));
        m.put("empty", Nd4j.create(DataType.FLOAT, 0, 3));
        m.put("double", Nd4j.createFromArray(1.0, 2.0));
        SafetensorsWriter.write(f, Map.of(), m, DType.F32);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(List.copyOf(m.keySet()), List.copyOf(sf.tensors().keySet()), "header order");
            assertEquals(big, sf.readFloat("big"));
            assertArrayEquals(floatBits(VALUES), floatBits(sf.readFloat("v").data().asFloat()));
            assertEquals(view, sf.readFloat("view"));
            assertEquals(fortran, sf.readFloat("fortran"));
            assertEquals(fortran.transpose(), sf.readFloat("transposed"));
            INDArray s = sf.readFloat("scalar");
            assertEquals(0, s.rank());
            assertEquals(3.5f, s.getFloat(0));
            INDArray e = sf.readFloat("empty");
            assertTrue(e.isEmpty());
            assertArrayEquals(new long[] {0, 3}, e.shape());
            assertEquals(Nd4j.createFromArray(1f, 2f), sf.readFloat("double"));

            INDArray target = Nd4j.create(DataType.FLOAT, 350000);
            sf.readInto("big", target);
            assertEquals(big.reshape(350000), target);
            INDArray strided = Nd4j.create(DataType.FLOAT, 4, 3).transpose(); // 3x4, not c-order
            sf.readInto("fortran", strided);
            assertEquals(fortran, strided);
            assertThrows(IllegalArgumentException.class, () -> sf.readInto("big", Nd4j.create(DataType.FLOAT, 3)));
            assertThrows(IllegalArgumentException.class,
                    () -> sf.readInto("v", Nd4j.create(DataType.DOUBLE, 10)));
            ModelFormatException missing = assertThrows(ModelFormatException.class, () -> sf.readFloat("nope"));
            assertTrue(missing.getMessage().contains("'nope'"), missing.getMessage());
        }
    }

    private static int[] floatBits(float[] f) {
        int[] r = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            r[i] = Float.floatToIntBits(f[i]);
        }
        return r;
    }

    @Test
    void readsAHandWrittenFile() throws IOException {
        // "a": F32 [2] = {1.5, -3}; "b": F16 [] = 0x3555 (1/3 rounded: 0.333251953125);
        // "c": BF16 [1,2] = {0x3F80, 0xC0A0} = {1, -5}; "z": F32 [0]
        String header = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"h\u00e9\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[8,10]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[10,10]},"
                + "\"c\":{\"data_offsets\":[10,14],\"shape\":[1,2],\"dtype\":\"BF16\"}}   ";
        byte[] data = {
            0x00, 0x00, (byte) 0xC0, 0x3F,   0x00, 0x00, 0x40, (byte) 0xC0,   // 1.5f, -3f
            0x55, 0x35,                                                      // F16 0x3555
            (byte) 0x80, 0x3F, (byte) 0xA0, (byte) 0xC0};                    // BF16 0x3F80, 0xC0A0
        Path f = StFiles.write(dir.resolve("hand.safetensors"), header, data);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(List.of("a", "b", "z", "c"), List.copyOf(sf.tensors().keySet()));
            assertEquals("h\u00e9", sf.metadata().get("note"));
            assertEquals(new TensorInfo("c", DType.BF16, new long[] {1, 2}, 10, 14), sf.tensors().get("c"));
            assertArrayEquals(new float[] {1.5f, -3f}, sf.readFloat("a").data().asFloat());
            INDArray b = sf.readFloat("b");
            assertEquals(0, b.rank());
            assertEquals(0.333251953125f, b.getFloat(0));
            assertArrayEquals(new long[] {0}, sf.readFloat("z").shape());
            INDArray c = sf.readFloat("c");
            assertArrayEquals(new long[] {1, 2}, c.shape());
            assertArrayEquals(new float[] {1f, -5f}, c.data().asFloat());
            assertEquals(2, sf.tensors().get("c").numel());
            assertEquals(4, sf.tensors().get("c").byteLength());
        }
    }

    @Test
    void writerHeaderIsPythonCompatible() throws IOException {
        Path f = dir.resolve("p.safetensors");
        SafetensorsWriter.write(f, Map.of("format", "pt"), List.of(
                new SafetensorsWriter.Entry("w", DType.F32, new long[] {2}, () -> Nd4j.createFromArray(1f, 2f)),
                new SafetensorsWriter.Entry("h", DType.F16, new long[] {1, 1}, () -> Nd4j.createFromArray(1f))));
        byte[] all = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[1,1],\"data_offsets\":[8,10]}}", header.stripTrailing());
        assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '));
        assertEquals(8 + n + 10, all.length);
    }

    @Test
    void failedWriteLeavesNoFileBehind() throws IOException {
        Path f = dir.resolve("out.safetensors");
        RuntimeException boom = new IllegalStateException("boom");
        List<SafetensorsWriter.Entry> entries = List.of(
                new SafetensorsWriter.Entry("ok", DType.F32, new long[] {2}, () -> Nd4j.createFromArray(1f, 2f)),
                new SafetensorsWriter.Entry("bad", DType.F32, new long[] {2}, () -> { throw boom; }));
        assertEquals(boom, assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(f, Map.of(), entries)));
        assertEmptyDir();
        List<SafetensorsWriter.Entry> wrongLength = List.of(
                new SafetensorsWriter.Entry("x", DType.F32, new long[] {3}, () -> Nd4j.createFromArray(1f, 2f)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(f, Map.of(), wrongLength));
        assertTrue(e.getMessage().contains("'x'"), e.getMessage());
        assertEmptyDir();
        List<SafetensorsWriter.Entry> dup = List.of(
                new SafetensorsWriter.Entry("x", DType.F32, new long[] {1}, () -> Nd4j.createFromArray(1f)),
                new SafetensorsWriter.Entry("x", DType.F32, new long[] {1}, () -> Nd4j.createFromArray(1f)));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(f, Map.of(), dup));
        assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter.Entry("", DType.F32, new long[] {1}, () -> null));
        assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter.Entry("n", DType.F32, new long[] {-1}, () -> null));
        assertEmptyDir();
        // an existing target survives a failed rewrite untouched
        SafetensorsWriter.write(f, Map.of(), Map.of("a", Nd4j.createFromArray(5f)), DType.F32);
        byte[] before = Files.readAllBytes(f);
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(f, Map.of(), entries));
        assertArrayEquals(before, Files.readAllBytes(f));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(f), s.toList());
        }
    }

    private void assertEmptyDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.findAny().isPresent(), "temporary file left behind");
        }
    }
}
