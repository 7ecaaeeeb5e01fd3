package org.silora.step;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.graph.LinearModule;

/**
 * One linear module of the model for the direct step: the frozen weight {@code W [in, out]} (the graph's own array),
 * an optional bias, and optional LoRA factors {@code A [r, in]}, {@code B [out, r]} with scaling s, whose gradients
 * it owns. {@code y = x·W + b + s·(x·Aᵀ)·Bᵀ}.
 *
 * <pre>{@code
 * lin.forward(rt, x, n, y, u);                 // u = x·Aᵀ, kept for the backward pass
 * lin.backward(rt, dy, x, u, n, dx, false);    // LoRA gradients, and dx = dy·Wᵀ + s·(dy·B)·A
 * }</pre>
 */
final class Linear {

    final String name;
    final int in;
    final int out;
    final Region w;
    final Region bias;
    final Region a;
    final Region b;
    final int r;
    final float s;
    final Region gradA;
    final Region gradB;

    Linear(LinearModule m, DirectStep.Lora lora) {
        this.name = m.name();
        this.in = m.in();
        this.out = m.out();
        INDArray wt = m.weightT().getArr();
        if (wt.dataType() != DataType.FLOAT) throw new IllegalArgumentException(name + ": the direct step needs FLOAT weights");
        this.w = Region.of(wt);
        this.bias = m.bias() == null ? null : Region.of(m.bias().getArr());
        if (lora != null) {
            this.a = Region.of(lora.a());
            this.b = Region.of(lora.b());
            this.r = (int) lora.a().size(0);
            this.s = (float) lora.scaling();
            if (lora.a().size(1) != in || lora.b().size(0) != out || lora.b().size(1) != r) {
                throw new IllegalArgumentException(name + ": LoRA factors do not fit a " + in + " -> " + out + " module");
            }
            this.gradA = Region.allocate(r, in);
            this.gradB = Region.allocate(out, r);
        } else {
            this.a = null;
            this.b = null;
            this.r = 0;
            this.s = 0;
            this.gradA = null;
            this.gradB = null;
        }
    }

    boolean adapted() {
        return a != null;
    }

    /** The array for {@code u = x·Aᵀ} of this module under the key prefix {@code p}, or null when not adapted. */
    Region u(StepRuntime rt, String p, int n) {
        return adapted() ? rt.work(p + "u." + name, (long) n * r) : null;
    }

    /** {@code y = x·W (+ bias) (+ s·(x·Aᵀ)·Bᵀ)}; {@code u = x·Aᵀ} is kept for the backward pass. */
    void forward(StepRuntime rt, Region x, int n, Region y, Region u) {
        rt.timed(adapted() ? "linear (adapted)" : "linear", () -> {
            Gemm.mm(rt.par, false, false, n, out, in, 1f, x, 0, in, w, 0, out, 0f, y, 0, out);
            if (bias != null) {
                rt.par.forRanges(n, (lo, hi) -> {
                    for (int row = lo; row < hi; row++) {
                        int o = row * out;
                        for (int j = 0; j < out; j++) y.buf.put(o + j, y.buf.get(o + j) + bias.buf.get(j));
                    }
                });
            }
            if (adapted()) {
                Gemm.mm(rt.par, false, true, n, r, in, 1f, x, 0, in, a, 0, in, 0f, u, 0, r);
                Gemm.mm(rt.par, false, true, n, out, r, s, u, 0, r, b, 0, r, 1f, y, 0, out);
            }
        });
    }

    /**
     * Given {@code dy [n, out]}: the LoRA gradients (overwritten) and, when {@code dx} is not null, the input gradient
     * {@code dy·Wᵀ + s·(dy·B)·A}, added to {@code dx} when {@code accumulate}.
     */
    void backward(StepRuntime rt, Region dy, Region x, Region u, int n, Region dx, boolean accumulate) {
        rt.timed(adapted() ? "linear backward (adapted)" : "linear backward", () -> {
            if (dx != null) {
                Gemm.mm(rt.par, false, true, n, in, out, 1f, dy, 0, out, w, 0, out, accumulate ? 1f : 0f, dx, 0, in);
            }
            if (adapted()) {
                Region tmp = rt.work("lora.t", (long) n * r);
                Gemm.mm(rt.par, false, false, n, r, out, 1f, dy, 0, out, b, 0, r, 0f, tmp, 0, r);            // dy·B
                Gemm.mm(rt.par, true, false, out, r, n, s, dy, 0, out, u, 0, r, 0f, gradB, 0, r);         // s·dyᵀ·u
                Gemm.mm(rt.par, true, false, r, in, n, s, tmp, 0, r, x, 0, in, 0f, gradA, 0, in);         // s·(dy·B)ᵀ·x
                if (dx != null) Gemm.mm(rt.par, false, false, n, in, r, s, tmp, 0, r, a, 0, in, 1f, dx, 0, in);
            }
        });
    }
}
