package org.silora.step;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * The threads a direct step uses: its own fork-join pool of {@code threads} workers (none for one thread), closed
 * with the step. Work is split into at most a few parts per thread, each a contiguous range.
 *
 * <pre>{@code
 * try (Par par = new Par(2)) { par.forEach(64, i -> work(i)); }
 * }</pre>
 */
final class Par implements AutoCloseable {

    private final int threads;
    private final ForkJoinPool pool;

    Par(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.pool = threads > 1 ? new ForkJoinPool(threads) : null;
    }

    int threads() {
        return threads;
    }

    /** Runs {@code body} for every index in {@code [0, n)}, in parallel when this has several threads. */
    void forEach(int n, IntConsumer body) {
        if (n <= 0) return;
        if (pool == null || n == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }

    /** Runs {@code body(lo, hi)} over {@code [0, n)} cut into one contiguous range per thread. */
    void forRanges(int n, RangeBody body) {
        int parts = Math.max(1, Math.min(threads, n));
        int chunk = (n + parts - 1) / parts;
        forEach(parts, p -> {
            int lo = p * chunk;
            int hi = Math.min(n, lo + chunk);
            if (lo < hi) body.run(lo, hi);
        });
    }

    @FunctionalInterface
    interface RangeBody {
        void run(int lo, int hi);
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdown();
    }
}
