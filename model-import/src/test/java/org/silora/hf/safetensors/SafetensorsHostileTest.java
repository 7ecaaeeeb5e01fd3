package org.silora.hf.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.ModelFormatException;

/** Malformed and malicious files: each must give a one-line ModelFormatException naming the problem. */
class SafetensorsHostileTest {
    @TempDir
    Path dir;

    private static final String A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private String rejected(byte[] bytes, String... expectedParts) {
        Path f = StFiles.write(dir.resolve("model.safetensors"), bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(f).close());
        String m = e.getMessage();
        assertTrue(m.startsWith(f + ": "), m);
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        for (String part : expectedParts) {
            assertTrue(m.contains(part), "expected '" + part + "' in: " + m);
        }
        return m;
    }

    private String rejected(String header, byte[] data, String... expectedParts) {
        return rejected(StFiles.bytes(header, data), expectedParts);
    }

    private static byte[] lengthOnly(long n, int extra) {
        return ByteBuffer.allocate(8 + extra).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array();
    }

    @Test
    void shortFileAndBadHeaderLengths() {
        rejected(new byte[0], "0 bytes", "too short");
        rejected(new byte[7], "7 bytes", "too short");
        rejected(lengthOnly(0, 4), "header length is 0");
        rejected(lengthOnly(1L << 62, 16), "header length 4611686018427387904", "limit");
        rejected(lengthOnly(-1L, 16), "header length 18446744073709551615", "limit");
        rejected(lengthOnly(100, 16), "header length 100", "past the end of the file (24 bytes)");
        rejected(lengthOnly(100_000_001, 16), "limit of 100000000");
    }

    @Test
    void headerThatIsNotAJsonObject() {
        rejected("not json", new byte[0], "not valid JSON");
        rejected("[1,2]", new byte[0], "array, not an object");
        rejected("\"s\"", new byte[0], "not an object");
        rejected("{" + A + "} {}", StFiles.f32(1, 2), "not valid JSON");
        rejected("{" + A + ",}", StFiles.f32(1, 2), "not valid JSON");
        rejected("   ", new byte[0], "empty");
        rejected(StFiles.concat(lengthOnly(4, 0), new byte[] {'{', (byte) 0xC3, '}', ' '}), "not valid UTF-8");
        rejected("[".repeat(5000) + "]".repeat(5000), new byte[0], "not valid JSON");
        rejected("{\"a\":" + "{\"b\":".repeat(100) + "1" + "}".repeat(101), new byte[0], "not valid JSON");
    }

    @Test
    void offsetsOutsideOrInconsistent() {
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[24],\"data_offsets\":[0,99]}}", new byte[64],
                "tensor 'x' data_offsets [0, 99] exceed the data section (64 bytes)");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", new byte[8], "reversed");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", new byte[8], "negative");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8],
                "tensor 'x'", "hold 8 bytes", "needs 12");
        rejected("{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12],
                "'a' [0, 8]", "'b' [4, 12]", "overlap");
        rejected("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8], "hole of 4 bytes");
        rejected("{" + A + "}", new byte[12], "4 bytes after the last tensor");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4], "data_offsets");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", new byte[4], "not an integer");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999999]}}",
                new byte[4], "out of range");
    }

    @Test
    void badShapes() {
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", new byte[8],
                "tensor 'x'", "negative dimension -2");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}",
                new byte[8], "tensor 'x'", "overflow");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296],\"data_offsets\":[0,8]}}", new byte[8],
                "larger than 2147483647");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", new byte[8],
                "not an integer");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", new byte[8], "not an array");
        rejected("{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", new byte[8], "has no shape");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[" + "1,".repeat(40) + "2],\"data_offsets\":[0,8]}}",
                new byte[8], "rank 41");
    }

    @Test
    void badDtypesAndEntries() {
        rejected("{\"x\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4],
                "unknown dtype 'Q7' for tensor 'x'", "supported: F32, F16, BF16");
        rejected("{\"x\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8],
                "unsupported dtype I64 for tensor 'x' (supported: F32, F16, BF16)");
        rejected("{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1],
                "unsupported dtype F8_E4M3");
        rejected("{\"x\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4], "dtype is not a string");
        rejected("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4], "has no dtype");
        rejected("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", new byte[4],
                "unknown field 'extra'");
        rejected("{\"x\":[1]}", new byte[0], "tensor 'x' is a JSON array");
        rejected("{" + A + "," + A + "}", StFiles.f32(1, 2), "Duplicate field 'a'");
        rejected("{\"x\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4],
                "Duplicate field 'dtype'");
        String m = rejected("{\"bad\\nname\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1],
                "I8");
        assertTrue(m.contains("bad\\u000aname"), m);
    }

    @Test
    void badMetadata() {
        rejected("{\"__metadata__\":{\"k\":1}," + A + "}", StFiles.f32(1, 2), "__metadata__", "'k'", "not a string");
        rejected("{\"__metadata__\":[]," + A + "}", StFiles.f32(1, 2), "__metadata__", "not an object");
        rejected("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", new byte[0], "Duplicate field 'k'");
    }

    @Test
    void acceptsEmptyAndEdgeCases() {
        Path f = StFiles.write(dir.resolve("e.safetensors"), "{}", new byte[0]);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertTrue(sf.tensors().isEmpty());
            assertTrue(sf.metadata().isEmpty());
        }
        Path g = StFiles.write(dir.resolve("g.safetensors"), "{" + A + "}        ", StFiles.f32(1, 2));
        try (SafetensorsFile sf = SafetensorsFile.open(g)) {
            assertEquals(Nd4j.createFromArray(1f, 2f), sf.readFloat("a"));
        }
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> SafetensorsFile.open(dir.resolve("absent.safetensors")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(dir));
    }

    /** Flip and truncate bytes of a valid file: only success or ModelFormatException may come out. */
    @Test
    void randomCorruptionGivesOnlyModelFormatExceptions() {
        Path ok = dir.resolve("ok.safetensors");
        SafetensorsWriter.write(ok, Map.of("format", "pt"), Map.of(
                "a", Nd4j.createFromArray(new float[] {1, 2, 3, 4, 5, 6}).reshape(2, 3),
                "b", Nd4j.createFromArray(0.5f, -0.25f)), DType.F16);
        byte[] valid;
        try {
            valid = java.nio.file.Files.readAllBytes(ok);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Random rnd = new Random(20240611L);
        int failures = 0;
        for (int i = 0; i < 500; i++) {
            byte[] b = valid.clone();
            switch (rnd.nextInt(4)) {
                case 0 -> b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> {
                    for (int k = rnd.nextInt(5) + 1; k > 0; k--) {
                        b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                    }
                }
                case 2 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
                default -> b[rnd.nextInt(8)] = (byte) rnd.nextInt(256); // the header length itself
            }
            Path f = StFiles.write(dir.resolve("fuzz.safetensors"), b);
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                for (String name : sf.tensors().keySet()) {
                    sf.readFloat(name);
                }
            } catch (ModelFormatException e) {
                failures++;
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
            } catch (RuntimeException | Error e) {
                fail("iteration " + i + " threw " + e, e);
            }
        }
        assertTrue(failures > 250, "most corruptions are caught: " + failures);
    }
}
