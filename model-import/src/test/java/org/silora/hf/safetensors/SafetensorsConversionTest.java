package org.silora.hf.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Bit-exact F16 / BF16 conversions; expected patterns derived by hand from the IEEE formats. */
class SafetensorsConversionTest {

    private static int half(float f) {
        return Convert.floatToHalf(f) & 0xffff;
    }

    private static int bf16(float f) {
        return Convert.floatToBf16(f) & 0xffff;
    }

    @Test
    void floatToHalfKnownPatterns() {
        assertEquals(0x3C00, half(1.0f));                 // exp 15, mantissa 0
        assertEquals(0xC000, half(-2.0f));
        assertEquals(0x7BFF, half(65504f));               // largest finite half
        assertEquals(0x7BFF, half(65519f));               // below the halfway point 65520
        assertEquals(0x7C00, half(65520f));               // halfway to 2^16 rounds (to even) up to infinity
        assertEquals(0x0400, half(0x1p-14f));             // smallest normal
        assertEquals(0x0001, half(0x1p-24f));             // smallest subnormal
        assertEquals(0x03FF, half(1023 * 0x1p-24f));      // largest subnormal
        assertEquals(0x0000, half(0x1p-25f));             // tie between 0 and 2^-24: even is 0
        assertEquals(0x0002, half(3 * 0x1p-25f));         // tie between 1 and 2 units: even is 2
        assertEquals(0x0001, half(0x1.8p-26f * 2));       // 0.75 units -> 1
        assertEquals(0x3C00, half(1 + 0x1p-11f));         // tie between 0x3C00 and 0x3C01: even
        assertEquals(0x3C02, half(1 + 3 * 0x1p-11f));     // tie between 0x3C01 and 0x3C02: even
        assertEquals(0x3C01, half(1 + 0x1p-11f + 0x1p-20f)); // just above the tie
        assertEquals(0x2E66, half(0.1f));                 // 0.1 = 1.6 * 2^-4: exp 11, mantissa 0x266
        assertEquals(0x8000, half(-0.0f));
        assertEquals(0x0000, half(Float.MIN_VALUE));
        assertEquals(0x7C00, half(Float.POSITIVE_INFINITY));
        assertEquals(0xFC00, half(Float.NEGATIVE_INFINITY));
        assertEquals(0x7C00, half(1e10f));
        assertEquals(0x7E00, half(Float.NaN));            // 0x7FC00000 -> quiet half NaN
        int nan = half(Float.intBitsToFloat(0x7F800001)); // signalling NaN with low payload stays NaN
        assertTrue((nan & 0x7C00) == 0x7C00 && (nan & 0x03FF) != 0);
    }

    @Test
    void halfToFloatKnownValues() {
        assertEquals(1.0f, Convert.halfToFloat((short) 0x3C00));
        assertEquals(65504f, Convert.halfToFloat((short) 0x7BFF));
        assertEquals(0x1p-24f, Convert.halfToFloat((short) 0x0001));
        assertEquals(1023 * 0x1p-24f, Convert.halfToFloat((short) 0x03FF));
        assertEquals(0x1p-14f, Convert.halfToFloat((short) 0x0400));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(Convert.halfToFloat((short) 0x8000)));
        assertEquals(Float.POSITIVE_INFINITY, Convert.halfToFloat((short) 0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, Convert.halfToFloat((short) 0xFC00));
        assertTrue(Float.isNaN(Convert.halfToFloat((short) 0x7E00)));
        assertTrue(Float.isNaN(Convert.halfToFloat((short) 0x7C01)));
        assertEquals(-2.0f, Convert.halfToFloat((short) 0xC000));
    }

    @Test
    void everyHalfSurvivesARoundTrip() {
        for (int h = 0; h < 1 << 16; h++) {
            float f = Convert.halfToFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Convert.halfToFloat(Convert.floatToHalf(f))));
            } else {
                assertEquals(h, half(f), "0x" + Integer.toHexString(h));
            }
        }
    }

    /** Nearest half found by search over all finite halves, ties to the even pattern; independent of the bit code. */
    @Test
    void randomFloatsRoundToTheNearestHalf() {
        float[] pos = new float[0x7C01]; // 0x0000..0x7C00 (inf) ascending
        for (int h = 0; h <= 0x7C00; h++) {
            pos[h] = Convert.halfBitsToFloat(h);
        }
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            float f = i % 2 == 0 ? Float.intBitsToFloat(rnd.nextInt(0x33000000, 0x47800000))
                    : (float) (rnd.nextDouble() * 70000);
            double a = f;
            int k = Arrays.binarySearch(pos, (float) a);
            int expect;
            if (k >= 0) {
                expect = k;
            } else {
                int hi = -k - 1;
                int lo = hi - 1;
                double up = hi == 0x7C00 ? 65536.0 : pos[hi];
                double dLo = a - pos[lo];
                double dHi = up - a;
                expect = dLo < dHi ? lo : dHi < dLo ? hi : (lo % 2 == 0 ? lo : hi);
            }
            assertEquals(expect, half(f), "for " + f);
            assertEquals(expect | 0x8000, half(-f), "for " + -f);
        }
    }

    @Test
    void bf16KnownPatterns() {
        assertEquals(0x3F80, bf16(1.0f));
        assertEquals(0xBF80, bf16(-1.0f));
        assertEquals(0x4049, bf16((float) Math.PI));                       // 0x40490FDB: low half < 0x8000
        assertEquals(0x3DCD, bf16(0.1f));                                  // 0x3DCCCCCD: low half > 0x8000, up
        assertEquals(0x3F80, bf16(Float.intBitsToFloat(0x3F808000)));      // tie, 0x3F80 even: down
        assertEquals(0x3F82, bf16(Float.intBitsToFloat(0x3F818000)));      // tie, 0x3F81 odd: up
        assertEquals(0x3F81, bf16(Float.intBitsToFloat(0x3F808001)));      // just above the tie
        assertEquals(0x7F80, bf16(Float.MAX_VALUE));                       // rounds past the largest bf16
        assertEquals(0x7F80, bf16(Float.POSITIVE_INFINITY));
        assertEquals(0xFF80, bf16(Float.NEGATIVE_INFINITY));
        assertEquals(0x8000, bf16(-0.0f));
        assertEquals(0x7FC0, bf16(Float.NaN));
        assertTrue(Float.isNaN(Convert.bf16ToFloat(Convert.floatToBf16(Float.intBitsToFloat(0x7F800001)))));
        assertEquals(1.0f, Convert.bf16ToFloat((short) 0x3F80));
        assertEquals(Float.intBitsToFloat(0x40490000), Convert.bf16ToFloat((short) 0x4049));
    }
}
