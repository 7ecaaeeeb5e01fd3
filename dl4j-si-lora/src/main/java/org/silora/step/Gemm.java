package org.silora.step;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

/**
 * Row-major {@code C = α·op(A)·op(B) + β·C} on regions of off-heap memory through the OpenBLAS that ND4J loads,
 * split into one block of rows (or columns) per thread by the caller's {@link Par}. Measured on a 2-core EPYC:
 * single-threaded OpenBLAS calls on two Java threads reach 190 GFLOP/s on a 1024 × 512 × 1376 product against 185
 * for OpenBLAS's own two threads, and 114 against 46 GFLOP/s on attention's 64 small products (OpenBLAS's threads
 * cannot share out many small calls); so the direct step runs OpenBLAS on one thread and threads itself.
 *
 * <pre>{@code
 * Gemm.mm(par, false, true, n, r, in, 1f, x, 0, in, a, 0, in, 0f, u, 0, r);   // u = x·Aᵀ
 * }</pre>
 */
final class Gemm {

    /** Products smaller than this many multiply-adds run on one thread. */
    private static final long SPLIT_MIN = 1L << 18;

    private Gemm() {
    }

    /**
     * {@code C[m, n] = α·op(A)·op(B) + β·C} with {@code op(A)} {@code [m, k]} and {@code op(B)} {@code [k, n]}; each
     * operand is a region, an element offset and a leading dimension (row stride).
     */
    static void mm(Par par, boolean ta, boolean tb, int m, int n, int k, float alpha,
                   Region a, long aOff, int lda, Region b, long bOff, int ldb, float beta, Region c, long cOff, int ldc) {
        if (m == 0 || n == 0) return;
        int threads = par.threads();
        long work = (long) m * n * k;
        if (threads == 1 || work < SPLIT_MIN * 2) {
            one(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        boolean byRows = m >= n || n < threads * 8;
        int extent = byRows ? m : n;
        int parts = (int) Math.min(threads, Math.max(1, work / SPLIT_MIN));
        parts = Math.min(parts, extent);
        int chunk = (extent + parts - 1) / parts;
        int finalParts = parts;
        par.forEach(finalParts, p -> {
            int lo = p * chunk;
            int hi = Math.min(extent, lo + chunk);
            if (lo >= hi) return;
            if (byRows) {
                long ao = ta ? aOff + lo : aOff + (long) lo * lda;
                one(ta, tb, hi - lo, n, k, alpha, a, ao, lda, b, bOff, ldb, beta, c, cOff + (long) lo * ldc, ldc);
            } else {
                long bo = tb ? bOff + (long) lo * ldb : bOff + lo;
                one(ta, tb, m, hi - lo, k, alpha, a, aOff, lda, b, bo, ldb, beta, c, cOff + lo, ldc);
            }
        });
    }

    /** One OpenBLAS call on the current thread. */
    static void one(boolean ta, boolean tb, int m, int n, int k, float alpha,
                    Region a, long aOff, int lda, Region b, long bOff, int ldb, float beta, Region c, long cOff, int ldc) {
        if (m == 0 || n == 0) return;
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                a.at(aOff), lda, b.at(bOff), ldb, beta, c.at(cOff), ldc);
    }

}
