package org.silora.step;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.graph.Rotary;

import java.util.Arrays;

/**
 * Causal self-attention with rotary embeddings and grouped key/value heads, forward and backward, on activations in
 * the layout the projections produce: queries {@code [B·T, H·D]}, keys and values {@code [B·T, KV·D]}. Each
 * (row, head) is a handful of OpenBLAS products on strided blocks (leading dimension {@code H·D}: no permute copies);
 * query rows go in causal blocks that skip the masked upper-right scores; (row, head) pairs are shared out over the
 * step's threads. Probabilities are kept for the backward pass when the caller gives an array for them, else
 * recomputed there.
 *
 * <pre>{@code
 * att.rope(rt, q, k, n, pos);
 * att.forward(rt, q, k, v, out, probs, bsz, t, lengths);
 * }</pre>
 */
final class Attention {

    private final int heads;
    private final int kvHeads;
    private final int hd;
    /** Rotated pairs per head: dimension {@code i·stride} with {@code i·stride + partner}, for i in {@code [0, pairs)}. */
    private final int pairs;
    private final int stride;
    private final int partner;
    private final Rotary rotary;
    private Region[] tables;
    private int tablePositions;

    Attention(int heads, int kvHeads, int headDim, Rotary rotary, int rotaryDim, boolean interleaved) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.hd = headDim;
        this.rotary = rotary;
        // LLaMA's rotate_half pairs j with j + D/2 over the whole head; GPT-J's rotate_every_two pairs 2i with 2i + 1
        // over the first rotary_dim dimensions
        this.pairs = interleaved ? rotaryDim / 2 : headDim / 2;
        this.stride = interleaved ? 2 : 1;
        this.partner = interleaved ? 1 : headDim / 2;
    }

    /** Attention probabilities are kept for the backward pass up to this many floats over all layers (else recomputed). */
    private static final long KEEP_PROBS_MAX = 64L << 20;

    /** Floats of the kept probabilities of one layer. */
    long probsLength(int bsz, int t) {
        return (long) bsz * heads * t * t;
    }

    /** Whether a pass of {@code bsz × t} tokens over {@code layers} layers keeps the probabilities (256 MB at most). */
    static boolean keepsProbs(int heads, int bsz, int t, int layers) {
        return (long) bsz * heads * t * t * layers <= KEEP_PROBS_MAX;
    }

    /** cos and sin tables {@code [positions, head_dim]} for positions {@code 0 .. t−1} at least, kept between passes. */
    private Region[] tables(int t) {
        if (tables == null || tablePositions < t) {
            int[][] p = new int[1][t];
            for (int j = 0; j < t; j++) p[0][j] = j;
            INDArray[] cs = rotary.tables(p);
            tables = new Region[]{Region.of(cs[0]), Region.of(cs[1])};
            tablePositions = t;
        }
        return tables;
    }

    /** Rotary embedding in place on queries and keys; {@code pos[row]} is each token's position. */
    void rope(StepRuntime rt, Region q, Region k, int n, int[] pos, int t) {
        Region[] cs = tables(t);
        rt.timed("rotary", () -> rt.par.forRanges(n, (lo, hi) -> {
            for (int row = lo; row < hi; row++) {
                int to = pos[row] * hd;
                Kernels.rope(q, row * heads * hd, heads, hd, pairs, stride, partner, cs[0], cs[1], to);
                Kernels.rope(k, row * kvHeads * hd, kvHeads, hd, pairs, stride, partner, cs[0], cs[1], to);
            }
        }));
    }

    /** The backward pass of {@link #rope} in place on the query and key gradients. */
    void ropeBackward(StepRuntime rt, Region dq, Region dk, int n, int[] pos, int t) {
        Region[] cs = tables(t);
        rt.timed("rotary", () -> rt.par.forRanges(n, (lo, hi) -> {
            for (int row = lo; row < hi; row++) {
                int to = pos[row] * hd;
                Kernels.ropeBackward(dq, row * heads * hd, heads, hd, pairs, stride, partner, cs[0], cs[1], to);
                Kernels.ropeBackward(dk, row * kvHeads * hd, kvHeads, hd, pairs, stride, partner, cs[0], cs[1], to);
            }
        }));
    }

    /**
     * Query rows are taken in blocks: block {@code [r0, r1)} sees keys {@code [0, r1)} only (causal), so the products
     * skip the masked upper-right blocks (a quarter of the work at T = 128, nearly half at T = 2048).
     */
    private static int queryBlock(int t) {
        return t <= 512 ? 64 : 128;
    }

    /** Per (row, head): scores, masked softmax, times values, into {@code out [B·T, H·D]}. */
    void forward(StepRuntime rt, Region q, Region k, Region v, Region out, Region probs, int bsz, int t, int[] lengths) {
        int groups = heads / kvHeads;
        int qw = heads * hd;
        int kw = kvHeads * hd;
        float alpha = (float) (1.0 / Math.sqrt(hd));
        int tasks = bsz * heads;
        int parts = Math.min(rt.par.threads(), tasks);
        Region scratch = probs == null ? rt.work("scores", (long) parts * t * t) : null;
        int chunk = (tasks + parts - 1) / parts;
        int blk = queryBlock(t);
        rt.timed("attention", () -> rt.par.forEach(parts, part -> {
            boolean[] keep = new boolean[t];
            for (int task = part * chunk; task < Math.min(tasks, (part + 1) * chunk); task++) {
                int b = task / heads;
                int h = task % heads;
                int g = h / groups;
                long so = probs != null ? (long) task * t * t : (long) part * t * t;
                Region s = probs != null ? probs : scratch;
                for (int r0 = 0; r0 < t; r0 += blk) {
                    int r1 = Math.min(t, r0 + blk);
                    scores(q, k, s, so, b, h, g, t, r0, r1, lengths[b], alpha, keep);
                    Gemm.one(false, false, r1 - r0, hd, r1, 1f, s, so + (long) r0 * t, t, v, (long) b * t * kw + (long) g * hd, kw, 0f,
                            out, ((long) b * t + r0) * qw + (long) h * hd, qw);
                }
            }
        }));
    }

    /**
     * {@code P = softmax(α·q·kᵀ + mask)} for query rows {@code [r0, r1)} of one (row, head) into {@code s} at {@code so}
     * (rows of {@code t}; keys at or beyond {@code r1} are written as 0). The mask: key ≤ query and key not padding.
     */
    private void scores(Region q, Region k, Region s, long so, int b, int h, int g, int t, int r0, int r1, int length,
                        float alpha, boolean[] keep) {
        int qw = heads * hd;
        int kw = kvHeads * hd;
        Gemm.one(false, true, r1 - r0, r1, hd, alpha, q, ((long) b * t + r0) * qw + (long) h * hd, qw, k, (long) b * t * kw + (long) g * hd, kw,
                0f, s, so + (long) r0 * t, t);
        Arrays.fill(keep, 0, t, false);
        Arrays.fill(keep, 0, length, true);
        for (int i = r0; i < r1; i++) Kernels.maskedSoftmax(s, (int) (so + (long) i * t), t, i + 1, keep);
    }

    /**
     * The backward pass per (row, key/value head), so that the heads sharing a key/value head add their key and value
     * gradients without a race: {@code dV = Σ Pᵀ·dO}, {@code dS = P·(dP − Σ P·dP)} with {@code dP = dO·Vᵀ},
     * {@code dQ = α·dS·K}, {@code dK = Σ α·dSᵀ·Q}; in causal query blocks, the last first (it spans every key, so it
     * initialises dK and dV).
     */
    void backward(StepRuntime rt, Region q, Region k, Region v, Region dOut, Region dq, Region dk, Region dv, Region probs,
                  int bsz, int t, int[] lengths) {
        int groups = heads / kvHeads;
        int qw = heads * hd;
        int kw = kvHeads * hd;
        float alpha = (float) (1.0 / Math.sqrt(hd));
        int tasks = bsz * kvHeads;
        int parts = Math.min(rt.par.threads(), tasks);
        Region scratch = rt.work("bscores", (long) parts * 2 * t * t);
        int chunk = (tasks + parts - 1) / parts;
        int blk = queryBlock(t);
        int last = ((t - 1) / blk) * blk;
        rt.timed("attention", () -> rt.par.forEach(parts, part -> {
            boolean[] keep = new boolean[t];
            long po = (long) part * 2 * t * t;
            long dpo = po + (long) t * t;
            for (int task = part * chunk; task < Math.min(tasks, (part + 1) * chunk); task++) {
                int b = task / kvHeads;
                int g = task % kvHeads;
                long ko = (long) b * t * kw + (long) g * hd;
                for (int h = g * groups; h < (g + 1) * groups; h++) {
                    long qo = (long) b * t * qw + (long) h * hd;
                    Region pr = probs != null ? probs : scratch;
                    long pOff = probs != null ? ((long) b * heads + h) * t * t : po;
                    for (int r0 = last; r0 >= 0; r0 -= blk) {
                        int r1 = Math.min(t, r0 + blk);
                        int m = r1 - r0;
                        if (probs == null) scores(q, k, scratch, po, b, h, g, t, r0, r1, lengths[b], alpha, keep);
                        float beta = h == g * groups && r0 == last ? 0f : 1f;
                        long pRow = pOff + (long) r0 * t;
                        long dpRow = dpo + (long) r0 * t;
                        long qRow = qo + (long) r0 * qw;
                        Gemm.one(true, false, r1, hd, m, 1f, pr, pRow, t, dOut, qRow, qw, beta, dv, ko, kw);          // dV += Pᵀ·dO
                        Gemm.one(false, true, m, r1, hd, 1f, dOut, qRow, qw, v, ko, kw, 0f, scratch, dpRow, t);       // dP = dO·Vᵀ
                        for (int i = r0; i < r1; i++) {
                            Kernels.softmaxBackward(pr, (int) (pOff + (long) i * t), scratch, (int) (dpo + (long) i * t), r1);
                        }
                        Gemm.one(false, false, m, hd, r1, alpha, scratch, dpRow, t, k, ko, kw, 0f, dq, qRow, qw);     // dQ = α·dS·K
                        Gemm.one(true, false, r1, hd, m, alpha, scratch, dpRow, t, q, qRow, qw, beta, dk, ko, kw);    // dK += α·dSᵀ·Q
                    }
                }
            }
        }));
    }
}
