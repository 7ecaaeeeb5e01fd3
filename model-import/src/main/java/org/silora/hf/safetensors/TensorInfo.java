package org.silora.hf.safetensors;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a safetensors header: its dtype, shape and byte range {@code [begin, end)} relative to the start
 * of the data section. The record checks itself: dimensions are non-negative ints, the element count does not
 * overflow, and the byte range holds exactly {@code numel * dtype.byteSize()} bytes.
 *
 * <pre>{@code
 * TensorInfo t = file.tensors().get("lm_head.weight");
 * long bytes = t.byteLength();   // == t.numel() * t.dtype().byteSize()
 * }</pre>
 *
 * @throws IllegalArgumentException (from the constructor) for an inconsistent description
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        shape = shape.clone();
        String who = "tensor " + Text.quote(name);
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(who + " has negative dimension " + d + " in shape "
                        + Arrays.toString(shape));
            }
            if (d > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(who + " has dimension " + d + " larger than "
                        + Integer.MAX_VALUE + " in shape " + Arrays.toString(shape));
            }
        }
        for (long d : shape) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                if (Arrays.stream(shape).anyMatch(x -> x == 0)) {
                    n = 0;
                    break;
                }
                throw new IllegalArgumentException(who + " shape " + Arrays.toString(shape)
                        + " has too many elements (overflow)");
            }
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(n, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(who + " shape " + Arrays.toString(shape) + " is too large for "
                    + dtype + " (overflow)");
        }
        if (begin < 0 || end < 0) {
            throw new IllegalArgumentException(who + " data_offsets [" + begin + ", " + end + "] are negative");
        }
        if (begin > end) {
            throw new IllegalArgumentException(who + " data_offsets [" + begin + ", " + end + "] are reversed");
        }
        if (end - begin != bytes) {
            throw new IllegalArgumentException(who + " data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin) + " bytes but " + dtype + " shape " + Arrays.toString(shape) + " needs " + bytes);
        }
    }

    /** A copy of the shape; empty for a scalar. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements (1 for a scalar, 0 if any dimension is 0). */
    public long numel() {
        return byteLength() / dtype.byteSize();
    }

    /** {@code end - begin}. */
    public long byteLength() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return "TensorInfo[" + name + ", " + dtype + ", " + Arrays.toString(shape) + ", [" + begin + ", " + end + "]]";
    }
}
