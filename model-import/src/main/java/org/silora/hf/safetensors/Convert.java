package org.silora.hf.safetensors;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Element conversions between FLOAT and the safetensors dtypes, and windows onto an INDArray's memory. */
final class Convert {
    private static final int CHUNK = 8192;
    /** All 65536 half-precision values as floats: exact, so the table is the conversion. */
    private static final float[] HALF = new float[1 << 16];

    static {
        for (int h = 0; h < HALF.length; h++) {
            HALF[h] = halfBitsToFloat(h);
        }
    }

    private Convert() {
    }

    /** IEEE 754 binary16 to float, exact for normals, subnormals, zeros, infinities and NaN (payload kept). */
    static float halfBitsToFloat(int h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float f = mant * 0x1p-24f; // exact: at most 10 significant bits
            return sign != 0 ? -f : f;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    static float halfToFloat(short h) {
        return HALF[h & 0xffff];
    }

    /** float to binary16 with round-to-nearest-even; overflow gives infinity, NaN stays (quiet) NaN. */
    static short floatToHalf(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int abs = x & 0x7fffffff;
        int e = abs >>> 23;
        int m = abs & 0x7fffff;
        if (e == 0xff) {
            return (short) (m == 0 ? sign | 0x7c00 : sign | 0x7e00 | (m >>> 13));
        }
        if (abs >= 0x477ff000) { // >= 65520: halfway to 2^16 and beyond round to infinity
            return (short) (sign | 0x7c00);
        }
        if (e < 113) { // below 2^-14: half subnormal (or zero), in units of 2^-24
            int shift = 126 - e;
            if (shift > 24) {
                return (short) sign;
            }
            int mant = m | 0x800000;
            int r = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (r & 1) != 0)) {
                r++;
            }
            return (short) (sign | r);
        }
        int r = ((e - 112) << 10) | (m >>> 13);
        int rem = m & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (r & 1) != 0)) {
            r++; // a carry into the exponent is the right answer
        }
        return (short) (sign | r);
    }

    static float bf16ToFloat(short s) {
        return Float.intBitsToFloat((s & 0xffff) << 16);
    }

    /** float to bfloat16 with round-to-nearest-even; NaN stays (quiet) NaN. */
    static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7fffffff) > 0x7f800000) {
            return (short) ((x >>> 16) | 0x40);
        }
        return (short) ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16);
    }

    /** Converts {@code count} floats from {@code src} into little-endian {@code dtype} elements at {@code dst}'s position. */
    static void fromFloat(DType dtype, FloatBuffer src, ByteBuffer dst, int count) {
        dst.order(ByteOrder.LITTLE_ENDIAN);
        if (dtype == DType.F32) {
            FloatBuffer d = dst.asFloatBuffer();
            d.put(src.duplicate().limit(src.position() + count));
            dst.position(dst.position() + 4 * count);
            return;
        }
        ShortBuffer d = dst.asShortBuffer();
        float[] in = new float[Math.min(count, CHUNK)];
        short[] out = new short[in.length];
        boolean half = dtype == DType.F16;
        for (int done = 0; done < count; ) {
            int n = Math.min(in.length, count - done);
            src.get(in, 0, n);
            for (int i = 0; i < n; i++) {
                out[i] = half ? floatToHalf(in[i]) : floatToBf16(in[i]);
            }
            d.put(out, 0, n);
            done += n;
        }
        dst.position(dst.position() + 2 * count);
    }

    /**
     * True if {@code a} is a FLOAT array whose elements lie in c-order at the start of its own buffer, so that
     * {@link #window} addresses element {@code i} of {@code a}.
     */
    static boolean plain(INDArray a) {
        return !a.isEmpty() && a.offset() == 0 && a.data().offset() == 0 && a.data().length() >= a.length()
                && (a.rank() < 2 || java.util.Arrays.equals(a.stride(), Nd4j.getStrides(a.shape(), 'c')));
    }

    /** A native-order FloatBuffer over elements {@code [from, from + count)} of a plain array's buffer. */
    static FloatBuffer window(INDArray plain, long from, int count) {
        Pointer base = plain.data().addressPointer();
        FloatPointer p = new FloatPointer(base); // a view of the address; never closed, owns nothing
        p.position(base.position() + from).limit(base.position() + from + count);
        return p.asBuffer(); // javacpp buffers are in native order, like ND4J's memory
    }
}
