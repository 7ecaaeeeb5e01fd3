package org.silora.step;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one direct step owns besides the model: its threads, its working arrays (allocated on first use and kept from
 * pass to pass, so a training loop touches no fresh memory after its first step), and the optional timing of each
 * phase of a pass.
 *
 * <pre>{@code
 * Region q = rt.work("l3.q", (long) n * width);      // the same array on every pass of this shape
 * rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> ...));
 * }</pre>
 */
final class StepRuntime implements AutoCloseable {

    final Par par;
    private final Map<String, Region> work = new HashMap<>();
    private final Map<String, long[]> phases = new LinkedHashMap<>();
    private boolean profiling;

    StepRuntime(int threads) {
        this.par = new Par(threads);
    }

    /** A working array of at least {@code n} floats under {@code key}, kept for the next pass. */
    Region work(String key, long n) {
        Region r = work.get(key);
        if (r == null || r.length < n) {
            r = Region.allocate(Math.max(n, 1));
            work.put(key, r);
        }
        return r;
    }

    /** The working array under {@code key}, which this pass made before. */
    Region existing(String key) {
        Region r = work.get(key);
        if (r == null) throw new IllegalStateException("no working array " + key);
        return r;
    }

    long workingBytes() {
        long b = 0;
        for (Region r : work.values()) b += 4 * r.length;
        return b;
    }

    /**
     * Frees the working arrays now (they are this object's own), rather than when the garbage collector gets to them:
     * what runs next (the loss evaluation after training) should not find them still resident.
     */
    void release() {
        for (Region r : work.values()) r.array.close();
        work.clear();
    }

    void profile(boolean on) {
        profiling = on;
        phases.clear();
    }

    Map<String, double[]> phases() {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : phases.entrySet()) out.put(e.getKey(), new double[]{e.getValue()[0] / 1e9, e.getValue()[1]});
        return out;
    }

    void timed(String phase, java.lang.Runnable body) {
        if (!profiling) {
            body.run();
            return;
        }
        long t0 = System.nanoTime();
        body.run();
        long[] e = phases.computeIfAbsent(phase, k -> new long[2]);
        e[0] += System.nanoTime() - t0;
        e[1]++;
    }

    @Override
    public void close() {
        release();
        par.close();
    }
}
