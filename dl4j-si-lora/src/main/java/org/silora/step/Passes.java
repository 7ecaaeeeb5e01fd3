package org.silora.step;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The parts of a direct pass that do not depend on the family: the batch's checks and positions, the embedding
 * lookup, the loss at the logits, running with OpenBLAS on one thread, and the result's maps.
 */
final class Passes {

    private Passes() {
    }

    /** A checked batch: {@code n = B·T} tokens, each token's position (padding repeats a row's last one). */
    record Batch(int[][] ids, int[] lengths, int[][] labels, int bsz, int t, int n, int[] pos, long tokens) {

        static Batch of(int[][] ids, int[] lengths, int[][] labels, int vocab) {
            int bsz = ids.length;
            if (bsz == 0 || lengths.length != bsz || labels.length != bsz) throw new IllegalArgumentException("empty or ragged batch");
            int t = ids[0].length;
            long tokens = 0;
            for (int b = 0; b < bsz; b++) {
                if (ids[b].length != t || labels[b].length != t) throw new IllegalArgumentException("row " + b + " is not " + t + " long");
                if (lengths[b] < 1 || lengths[b] > t) throw new IllegalArgumentException("row " + b + " has length " + lengths[b]);
                for (int j = 0; j < lengths[b]; j++) {
                    if (ids[b][j] < 0 || ids[b][j] >= vocab) throw new IllegalArgumentException("token id " + ids[b][j] + " outside the vocabulary [0, " + vocab + ")");
                    if (labels[b][j] < 0 || labels[b][j] >= vocab) throw new IllegalArgumentException("label " + labels[b][j] + " outside the vocabulary [0, " + vocab + ")");
                }
                tokens += lengths[b];
            }
            int n = bsz * t;
            int[] pos = new int[n];
            for (int row = 0; row < n; row++) pos[row] = Math.min(row % t, lengths[row / t] - 1);
            return new Batch(ids, lengths, labels, bsz, t, n, pos, tokens);
        }

        boolean padding(int row) {
            return row % t >= lengths[row / t];
        }
    }

    /**
     * Runs {@code pass} with OpenBLAS on one thread when the step has several (it splits products over its own
     * threads, see {@link Gemm}), putting the setting back after.
     */
    static <T> T withBlasOnOneThread(StepRuntime rt, Supplier<T> pass) {
        var blas = Nd4j.factory().blas();
        int before = blas.getMaxThreads();
        boolean change = rt.par.threads() > 1 && before != 1;
        if (change) blas.setMaxThreads(1);
        try {
            return pass.get();
        } finally {
            if (change) blas.setMaxThreads(before);
        }
    }

    /**
     * Token embeddings into {@code x [n, d]}: rows of {@code table [V, d]}, or columns of a tied output weight
     * {@code tiedT [d, V]} when {@code table} is null.
     */
    static void embed(StepRuntime rt, Batch batch, Region table, Region tiedT, int d, int vocab, Region x) {
        int t = batch.t();
        rt.timed("embedding", () -> rt.par.forRanges(batch.n(), (lo, hi) -> {
            for (int row = lo; row < hi; row++) {
                int id = batch.ids()[row / t][row % t];
                if (batch.padding(row)) id = 0;   // a padded position's id is never read by a real token's output
                int o = row * d;
                if (table != null) {
                    int e = id * d;
                    for (int j = 0; j < d; j++) x.buf.put(o + j, table.buf.get(e + j));
                } else {
                    for (int j = 0; j < d; j++) x.buf.put(o + j, tiedT.buf.get(j * vocab + id));
                }
            }
        }));
    }

    /** Sets padded rows of {@code x [n, d]} to zero: padding enters the output projection as zeros, as in the graph. */
    static void zeroPadding(Batch batch, Region x, int d, int lo, int hi) {
        for (int row = lo; row < hi; row++) {
            if (batch.padding(row)) for (int j = 0; j < d; j++) x.buf.put(row * d + j, 0f);
        }
    }

    /**
     * The summed NLL of the labelled tokens; the logits become the gradient of that sum (zero on padding rows).
     */
    static double loss(StepRuntime rt, Batch batch, Region logits, int vocab) {
        double[] parts = new double[batch.n()];
        int t = batch.t();
        rt.timed("loss", () -> rt.par.forRanges(batch.n(), (lo, hi) -> {
            for (int row = lo; row < hi; row++) {
                int off = row * vocab;
                if (batch.padding(row)) {
                    for (int k = 0; k < vocab; k++) logits.buf.put(off + k, 0f);
                } else {
                    parts[row] = Kernels.crossEntropy(logits, off, vocab, batch.labels()[row / t][row % t]);
                }
            }
        }));
        double nll = 0;
        for (double p : parts) nll += p;
        return nll;
    }

    /** The first {@code rows × cols} floats of a working array as a {@code [rows, cols]} array (a view, no copy). */
    static INDArray view(Region r, int rows, int cols) {
        long len = (long) rows * cols;
        INDArray flat = r.array.reshape(-1);
        return (flat.length() == len ? flat : flat.get(NDArrayIndex.interval(0, len))).reshape(rows, cols);
    }

    /**
     * Keeps a module's input and output gradient for the result (EXACT SI reads them): copied into working arrays of
     * their own (the pass overwrites its arrays; the trainer scales the gradient in place), handed out as views.
     */
    static void keep(StepRuntime rt, Map<String, INDArray> inputs, Map<String, INDArray> outGrads, Linear m, Region x, Region dy, int n) {
        if (inputs == null || !m.adapted()) return;
        inputs.put(m.name, view(snapshot(rt, "keep.x." + m.name, x, (long) n * m.in), n, m.in));
        outGrads.put(m.name, view(snapshot(rt, "keep.d." + m.name, dy, (long) n * m.out), n, m.out));
    }

    private static Region snapshot(StepRuntime rt, String key, Region from, long len) {
        Region to = rt.work(key, len);
        rt.timed("kept tensors", () -> rt.par.forRanges((int) len, (lo, hi) ->
                to.buf.duplicate().position(lo).put(from.buf.duplicate().position(lo).limit(hi))));
        return to;
    }

    /** The result's maps of LoRA gradients by module name. */
    static DirectStep.Result result(double nll, long tokens, List<Linear> modules, Map<String, INDArray> inputs,
                                    Map<String, INDArray> outGrads) {
        Map<String, INDArray> gradA = new LinkedHashMap<>();
        Map<String, INDArray> gradB = new LinkedHashMap<>();
        for (Linear m : modules) {
            if (m.adapted()) {
                gradA.put(m.name, m.gradA.array);
                gradB.put(m.name, m.gradB.array);
            }
        }
        return new DirectStep.Result(nll, tokens, gradA, gradB, inputs == null ? Map.of() : inputs, outGrads == null ? Map.of() : outGrads);
    }

    /** Takes a module's factors out of {@code left} (so that unknown names can be reported after). */
    static Linear linear(Map<String, org.silora.hf.graph.LinearModule> linears, Map<String, DirectStep.Lora> left, String name) {
        org.silora.hf.graph.LinearModule m = linears.get(name);
        if (m == null) throw new IllegalArgumentException("the graph has no linear module " + name);
        return new Linear(m, left.remove(name));
    }
}
