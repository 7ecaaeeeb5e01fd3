package org.silora.step;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.HashMap;
import java.util.Map;

/**
 * SI's per-step path-integral update of one module, fused: {@code ω −= g ⊙ ΔD} with {@code ΔD = s·B'·A' − s·B·A}
 * (the change of the LoRA delta made by the step) and {@code g} either Eq. 13's {@code g̃ = g_B·A + B·g_A − η·g_B·g_A}
 * (PAPER) or the weight gradient {@code δᵀ·x} (EXACT), optionally clamped at 0 after (the authors' recipe).
 *
 * <p>Neither {@code [out, in]} matrix is formed whole: both are products of thin stacked factors
 * ({@code [s·B', −s·B]·[A'; A]}, {@code [g_B, B, −η·g_B]·[A; g_A; g_A]}), computed a block of rows at a time into
 * per-thread tiles that stay in cache and folded into ω right away. Per step and module this reads and writes ω once,
 * where forming the matrices with ND4J ops took five products writing {@code [out, in]} arrays and three passes over
 * them (6 % of a d 512 LoRA step with sixteen adapted modules, measured).
 *
 * <pre>{@code
 * try (OmegaUpdate u = new OmegaUpdate(2)) {
 *     u.together(() -> u.paper(omega, aBefore, bBefore, a, b, gA, gB, lr, scaling, false));
 * }
 * }</pre>
 */
public final class OmegaUpdate implements AutoCloseable {

    private static final int BLOCK_ROWS = 32;

    private final StepRuntime rt;
    private final Map<String, Region> regions = new HashMap<>();

    /** True where this runs: ND4J's CPU backend (it calls the OpenBLAS that backend loads). */
    public static boolean available() {
        return DirectStep.cpuBackend();
    }

    public OmegaUpdate(int threads) {
        this.rt = new StepRuntime(threads);
    }

    /**
     * Runs {@code updates} (calls of this object's methods) with OpenBLAS on one thread throughout, switching it once
     * rather than per module (this object splits its products over its own threads).
     */
    public void together(java.lang.Runnable updates) {
        Passes.withBlasOnOneThread(rt, () -> {
            updates.run();
            return null;
        });
    }

    /** PAPER: {@code ω −= g̃ ⊙ ΔD}, {@code g̃ = g_B·A + B·g_A − η·g_B·g_A} at the parameters before the step. */
    public void paper(INDArray omega, INDArray aBefore, INDArray bBefore, INDArray aAfter, INDArray bAfter, INDArray gA, INDArray gB,
                      double eta, double scaling, boolean clamp) {
        int out = (int) omega.size(0);
        int in = (int) omega.size(1);
        int r = (int) aBefore.size(0);
        Region lg = stack(out, 3 * r, "lg", true, new INDArray[]{gB, bBefore, gB}, new float[]{1f, 1f, (float) -eta});
        Region rg = stack(3 * r, in, "rg", false, new INDArray[]{aBefore, gA, gA}, new float[]{1f, 1f, 1f});
        update(omega, out, in, clamp, tileD(out, in, r, aBefore, bBefore, aAfter, bAfter, scaling),
                (tile, i0, m) -> Gemm.one(false, false, m, in, 3 * r, 1f, lg, (long) i0 * 3 * r, 3 * r, rg, 0, in, 0f, tile, 0, in));
    }

    /** EXACT: {@code ω −= (δᵀ·x) ⊙ ΔD} from one micro-batch's output gradient {@code δ [N, out]} and input {@code x [N, in]}. */
    public void exact(INDArray omega, INDArray delta, INDArray x, INDArray aBefore, INDArray bBefore, INDArray aAfter, INDArray bAfter,
                      double scaling, boolean clamp) {
        int out = (int) omega.size(0);
        int in = (int) omega.size(1);
        int n = (int) delta.size(0);
        Region dl = Region.ofCopyIfNeeded(delta);
        Region xs = Region.ofCopyIfNeeded(x);
        // δᵀ·x whole, as one product split over the threads (as efficient as the step's own products), then folded in
        Region g = regions.computeIfAbsent("g" + out + "x" + in, k -> Region.allocate(out, in));
        Passes.withBlasOnOneThread(rt, () -> {
            Gemm.mm(rt.par, true, false, out, in, n, 1f, dl, 0, out, xs, 0, in, 0f, g, 0, in);
            return null;
        });
        withGradient(omega, g.array, aBefore, bBefore, aAfter, bAfter, scaling, clamp);
    }

    /** EXACT with a weight gradient summed beforehand (gradient accumulation): {@code ω −= g ⊙ ΔD}, {@code g [out, in]}. */
    public void withGradient(INDArray omega, INDArray g, INDArray aBefore, INDArray bBefore, INDArray aAfter, INDArray bAfter,
                             double scaling, boolean clamp) {
        int out = (int) omega.size(0);
        int in = (int) omega.size(1);
        Region gr = Region.ofCopyIfNeeded(g);
        update(omega, out, in, clamp, tileD(out, in, (int) aBefore.size(0), aBefore, bBefore, aAfter, bAfter, scaling),
                (tile, i0, m) -> {
                    for (int i = 0; i < m * in; i++) tile.buf.put(i, gr.buf.get(i0 * in + i));
                });
    }

    @FunctionalInterface
    private interface Tile {
        /** Writes rows {@code [i0, i0 + m)} of a {@code [out, in]} matrix into {@code tile} (row stride {@code in}). */
        void rows(Region tile, int i0, int m);
    }

    /** ΔD's rows: {@code [s·B', −s·B]·[A'; A]}. */
    private Tile tileD(int out, int in, int r, INDArray aBefore, INDArray bBefore, INDArray aAfter, INDArray bAfter, double scaling) {
        float s = (float) scaling;
        Region ld = stack(out, 2 * r, "ld", true, new INDArray[]{bAfter, bBefore}, new float[]{s, -s});
        Region rd = stack(2 * r, in, "rd", false, new INDArray[]{aAfter, aBefore}, new float[]{1f, 1f});
        return (tile, i0, m) -> Gemm.one(false, false, m, in, 2 * r, 1f, ld, (long) i0 * 2 * r, 2 * r, rd, 0, in, 0f, tile, 0, in);
    }

    /**
     * Parts side by side ({@code columns}: each {@code [rows, r_k]}, giving {@code [rows, Σ r_k]}) or one under another
     * (each {@code [r_k, cols]}), each times its factor, in a region kept for the next call.
     */
    private Region stack(int rows, int cols, String key, boolean columns, INDArray[] parts, float[] factors) {
        Region to = regions.computeIfAbsent(key + rows + "x" + cols, k -> Region.allocate(rows, cols));
        int offset = 0;
        for (int p = 0; p < parts.length; p++) {
            Region from = Region.of(parts[p]);
            float f = factors[p];
            if (columns) {
                int w = (int) parts[p].size(1);
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < w; j++) to.buf.put(i * cols + offset + j, f * from.buf.get(i * w + j));
                }
                offset += w;
            } else {
                int h = (int) parts[p].size(0);
                for (int i = 0; i < h * cols; i++) to.buf.put(offset * cols + i, f * from.buf.get(i));
                offset += h;
            }
        }
        return to;
    }

    private void update(INDArray omega, int out, int in, boolean clamp, Tile d, Tile g) {
        Region om = Region.of(omega);
        int blocks = (out + BLOCK_ROWS - 1) / BLOCK_ROWS;
        int parts = Math.min(rt.par.threads(), blocks);
        Region[] tds = new Region[parts];
        Region[] tgs = new Region[parts];
        for (int p = 0; p < parts; p++) {
            tds[p] = rt.work("tile.d." + p, (long) BLOCK_ROWS * in);
            tgs[p] = rt.work("tile.g." + p, (long) BLOCK_ROWS * in);
        }
        Passes.withBlasOnOneThread(rt, () -> {
            rt.par.forEach(parts, part -> {
                Region td = tds[part];
                Region tg = tgs[part];
                for (int blk = part; blk < blocks; blk += parts) {
                    int i0 = blk * BLOCK_ROWS;
                    int m = Math.min(BLOCK_ROWS, out - i0);
                    d.rows(td, i0, m);
                    g.rows(tg, i0, m);
                    int base = i0 * in;
                    for (int i = 0; i < m * in; i++) {
                        float w = om.buf.get(base + i) - tg.buf.get(i) * td.buf.get(i);
                        om.buf.put(base + i, clamp && w < 0 ? 0f : w);
                    }
                }
            });
            return null;
        });
    }

    @Override
    public void close() {
        regions.clear();
        rt.close();
    }
}
