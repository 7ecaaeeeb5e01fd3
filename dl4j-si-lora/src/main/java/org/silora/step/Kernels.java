package org.silora.step;

/**
 * The element-wise parts of a LLaMA layer, forward and backward, on rows of {@link Region}s: RMSNorm, rotary
 * embeddings ({@code rotate_half}), SwiGLU, a masked softmax and the cross-entropy of a row of logits. Plain loops
 * over one row at a time (the JIT keeps them in registers); callers split rows over threads. {@link #exp} is a
 * float exponential accurate to about one unit in the last place (8e-8 relative), ten times faster than
 * {@code Math.exp} in such loops.
 *
 * <pre>{@code
 * float r = Kernels.rmsNorm(x, row * d, d, eps, g, y, row * d);
 * }</pre>
 */
final class Kernels {

    private Kernels() {
    }

    /** {@code e^x} in float, 8e-8 relative error; 0 below −87.3. */
    static float exp(float x) {
        if (x < -87.3f) return 0f;
        if (x > 88.7f) return Float.POSITIVE_INFINITY;
        float t = x * 1.44269504f;
        float n = (t + 12582912f) - 12582912f;            // round to nearest integer
        float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1f;
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /** {@code y = x·r·g} for one row of {@code d}, {@code r = 1/√(mean(x²) + eps)}; returns r. */
    static float rmsNorm(Region x, int xo, int d, double eps, Region g, Region y, int yo) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int j = 0;
        for (; j + 3 < d; j += 4) {
            float v0 = x.buf.get(xo + j);
            float v1 = x.buf.get(xo + j + 1);
            float v2 = x.buf.get(xo + j + 2);
            float v3 = x.buf.get(xo + j + 3);
            s0 += v0 * v0;
            s1 += v1 * v1;
            s2 += v2 * v2;
            s3 += v3 * v3;
        }
        for (; j < d; j++) {
            float v = x.buf.get(xo + j);
            s0 += v * v;
        }
        double ss = (double) s0 + s1 + s2 + s3;
        float r = (float) (1.0 / Math.sqrt(ss / d + eps));
        for (j = 0; j < d; j++) y.buf.put(yo + j, x.buf.get(xo + j) * r * g.buf.get(j));
        return r;
    }

    /**
     * RMSNorm's backward for one row: {@code dx (+)= r·u − x·r³·(u·x)/d} with {@code u = dy·g}; adds to {@code dx} when
     * {@code accumulate}.
     */
    static void rmsNormBackward(Region x, int xo, int d, float r, Region g, Region dy, int dyo, Region dx, int dxo, boolean accumulate) {
        float d0 = 0;
        float d1 = 0;
        int j = 0;
        for (; j + 1 < d; j += 2) {
            d0 += dy.buf.get(dyo + j) * g.buf.get(j) * x.buf.get(xo + j);
            d1 += dy.buf.get(dyo + j + 1) * g.buf.get(j + 1) * x.buf.get(xo + j + 1);
        }
        if (j < d) d0 += dy.buf.get(dyo + j) * g.buf.get(j) * x.buf.get(xo + j);
        double dot = (double) d0 + d1;
        float c = (float) (dot * r * r * r / d);
        for (j = 0; j < d; j++) {
            float v = r * dy.buf.get(dyo + j) * g.buf.get(j) - x.buf.get(xo + j) * c;
            if (accumulate) v += dx.buf.get(dxo + j);
            dx.buf.put(dxo + j, v);
        }
    }

    /**
     * Rotary embedding in place on the {@code heads} heads of one token, over {@code pairs} pairs of dimensions
     * {@code (a, b) = (i·stride, i·stride + partner)}: {@code y_a = x_a·cos_a − x_b·sin_a}, {@code y_b = x_b·cos_b + x_a·sin_b}.
     * LLaMA's {@code rotate_half} is stride 1, partner D/2 over the whole head; GPT-J's {@code rotate_every_two} is
     * stride 2, partner 1 over {@code rotary_dim}; dimensions in no pair pass unchanged.
     */
    static void rope(Region x, int xo, int heads, int headDim, int pairs, int stride, int partner, Region cos, Region sin, int to) {
        for (int head = 0; head < heads; head++) {
            int base = xo + head * headDim;
            for (int i = 0; i < pairs; i++) {
                int a = i * stride;
                int b = a + partner;
                float x1 = x.buf.get(base + a);
                float x2 = x.buf.get(base + b);
                x.buf.put(base + a, x1 * cos.buf.get(to + a) - x2 * sin.buf.get(to + a));
                x.buf.put(base + b, x2 * cos.buf.get(to + b) + x1 * sin.buf.get(to + b));
            }
        }
    }

    /** The backward of {@link #rope} in place: {@code dx_a = g_a·cos_a + g_b·sin_b}, {@code dx_b = g_b·cos_b − g_a·sin_a}. */
    static void ropeBackward(Region dy, int o, int heads, int headDim, int pairs, int stride, int partner, Region cos, Region sin, int to) {
        for (int head = 0; head < heads; head++) {
            int base = o + head * headDim;
            for (int i = 0; i < pairs; i++) {
                int a = i * stride;
                int b = a + partner;
                float ga = dy.buf.get(base + a);
                float gb = dy.buf.get(base + b);
                dy.buf.put(base + a, ga * cos.buf.get(to + a) + gb * sin.buf.get(to + b));
                dy.buf.put(base + b, gb * cos.buf.get(to + b) - ga * sin.buf.get(to + a));
            }
        }
    }

    /**
     * LayerNorm of one row: {@code y = (x − μ)·rstd·g + b}, {@code rstd = 1/√(var + eps)}; stores μ and rstd in
     * {@code stats[2·row], stats[2·row+1]}.
     */
    static void layerNorm(Region x, int xo, int d, double eps, Region g, Region bias, Region y, int yo, Region stats, int row) {
        double sum = 0;
        for (int j = 0; j < d; j++) sum += x.buf.get(xo + j);
        float mu = (float) (sum / d);
        double ss = 0;
        for (int j = 0; j < d; j++) {
            float c = x.buf.get(xo + j) - mu;
            ss += c * c;
        }
        float rstd = (float) (1.0 / Math.sqrt(ss / d + eps));
        for (int j = 0; j < d; j++) y.buf.put(yo + j, (x.buf.get(xo + j) - mu) * rstd * g.buf.get(j) + bias.buf.get(j));
        stats.buf.put(2 * row, mu);
        stats.buf.put(2 * row + 1, rstd);
    }

    /**
     * LayerNorm's backward for one row: with {@code u = dy·g} and {@code x̂ = (x − μ)·rstd},
     * {@code dx (+)= rstd·(u − mean(u) − x̂·mean(u·x̂))}.
     */
    static void layerNormBackward(Region x, int xo, int d, Region stats, int row, Region g, Region dy, int dyo, Region dx, int dxo,
                                  boolean accumulate) {
        float mu = stats.buf.get(2 * row);
        float rstd = stats.buf.get(2 * row + 1);
        double su = 0;
        double sux = 0;
        for (int j = 0; j < d; j++) {
            float u = dy.buf.get(dyo + j) * g.buf.get(j);
            su += u;
            sux += u * (x.buf.get(xo + j) - mu) * rstd;
        }
        float mu1 = (float) (su / d);
        float mu2 = (float) (sux / d);
        for (int j = 0; j < d; j++) {
            float xh = (x.buf.get(xo + j) - mu) * rstd;
            float v = rstd * (dy.buf.get(dyo + j) * g.buf.get(j) - mu1 - xh * mu2);
            if (accumulate) v += dx.buf.get(dxo + j);
            dx.buf.put(dxo + j, v);
        }
    }

    private static final float GELU_C = (float) Math.sqrt(2.0 / Math.PI);

    /**
     * {@code gelu_new} over {@code [lo, hi)}: {@code a = 0.5·x·(1 + tanh(c·(x + 0.044715·x³)))}, keeping the tanh in
     * {@code th} for the backward pass.
     */
    static void geluNew(Region x, Region th, Region a, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            float v = x.buf.get(i);
            float z = GELU_C * (v + 0.044715f * v * v * v);
            float t = 1f - 2f / (1f + exp(2f * z));
            th.buf.put(i, t);
            a.buf.put(i, 0.5f * v * (1f + t));
        }
    }

    /** {@code gelu_new}'s backward in place: {@code da ← da·(0.5·(1 + t) + 0.5·x·(1 − t²)·c·(1 + 3·0.044715·x²))}. */
    static void geluNewBackward(Region x, Region th, Region da, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            float v = x.buf.get(i);
            float t = th.buf.get(i);
            float dz = GELU_C * (1f + 3f * 0.044715f * v * v);
            da.buf.put(i, da.buf.get(i) * (0.5f * (1f + t) + 0.5f * v * (1f - t * t) * dz));
        }
    }

    /** {@code a = silu(g)·u} over {@code [lo, hi)}, keeping {@code σ(g)} in {@code sg} for the backward pass. */
    static void swiGlu(Region g, Region u, Region sg, Region a, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            float x = g.buf.get(i);
            float s = 1f / (1f + exp(-x));
            sg.buf.put(i, s);
            a.buf.put(i, x * s * u.buf.get(i));
        }
    }

    /**
     * SwiGLU's backward over {@code [lo, hi)}, in place: {@code da} becomes {@code dg = da·u·σ(g)·(1 + g·(1 − σ(g)))} and
     * {@code du = da·silu(g)} is written to {@code du}; {@code sg} holds σ(g) from the forward pass.
     */
    static void swiGluBackward(Region g, Region u, Region sg, Region da, Region du, int lo, int hi) {
        for (int i = lo; i < hi; i++) {
            float x = g.buf.get(i);
            float s = sg.buf.get(i);
            float d = da.buf.get(i);
            du.buf.put(i, d * x * s);
            da.buf.put(i, d * u.buf.get(i) * s * (1f + x * (1f - s)));
        }
    }

    /**
     * Softmax in place over one row of {@code t} scores where only keys {@code k < visible} with {@code keep[k]} count;
     * the others become 0. A row with no visible key gets the uniform distribution (what an additive bias of −1e9 on
     * every key gives in float).
     */
    static void maskedSoftmax(Region s, int o, int t, int visible, boolean[] keep) {
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < visible; k++) if (keep[k]) max = Math.max(max, s.buf.get(o + k));
        if (max == Float.NEGATIVE_INFINITY) {
            for (int k = 0; k < t; k++) s.buf.put(o + k, 1f / t);
            return;
        }
        float sum = 0;
        for (int k = 0; k < t; k++) {
            float e = k < visible && keep[k] ? exp(s.buf.get(o + k) - max) : 0f;
            s.buf.put(o + k, e);
            sum += e;
        }
        float inv = 1f / sum;
        for (int k = 0; k < visible; k++) s.buf.put(o + k, s.buf.get(o + k) * inv);
    }

    /** Softmax's backward for one row, in place in {@code dp}: {@code ds = p·(dp − Σ p·dp)}. */
    static void softmaxBackward(Region p, int po, Region dp, int dpo, int t) {
        double dot = 0;
        for (int k = 0; k < t; k++) dot += p.buf.get(po + k) * dp.buf.get(dpo + k);
        float c = (float) dot;
        for (int k = 0; k < t; k++) {
            float pk = p.buf.get(po + k);
            dp.buf.put(dpo + k, pk == 0f ? 0f : pk * (dp.buf.get(dpo + k) - c));
        }
    }

    /**
     * Cross-entropy of one row of {@code v} logits at {@code label}: returns {@code −log softmax(z)[label]} and
     * overwrites the row with its gradient {@code softmax(z) − onehot(label)}.
     */
    static double crossEntropy(Region z, int o, int v, int label) {
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < v; k++) max = Math.max(max, z.buf.get(o + k));
        float zl = z.buf.get(o + label);
        double sum = 0;
        for (int k = 0; k < v; k++) {
            float e = exp(z.buf.get(o + k) - max);
            z.buf.put(o + k, e);
            sum += e;
        }
        double nll = max + Math.log(sum) - zl;
        float inv = (float) (1.0 / sum);
        for (int k = 0; k < v; k++) z.buf.put(o + k, z.buf.get(o + k) * inv);
        z.buf.put(o + label, z.buf.get(o + label) - 1f);
        return nll;
    }
}
