package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Min and median of a set of timings in seconds: the bench reports both, the median as the figure (one step
 * disturbed by other work on the machine moves it little), the min as what the code can do.
 *
 * <pre>{@code
 * Stat s = Stat.time(warmup, repeats, rig::step);
 * double tokensPerSecond = tokens / s.median();
 * }</pre>
 */
record Stat(double min, double median, int n) {

    Stat {
        if (n < 1) throw new IllegalArgumentException("a timing needs at least one measurement, got " + n);
    }

    static Stat of(List<Double> seconds) {
        double[] a = seconds.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (a.length == 0) throw new IllegalArgumentException("no timings");
        return new Stat(a[0], a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2, a.length);
    }

    /** {@code work} run {@code warmup} times untimed, then {@code repeats} times timed. */
    static Stat time(int warmup, int repeats, Supplier<?> work) {
        for (int i = 0; i < warmup; i++) work.get();
        List<Double> ts = new ArrayList<>();
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime();
            work.get();
            ts.add((System.nanoTime() - t0) / 1e9);
        }
        return of(ts);
    }

    /** {@code {min_s, median_s, n}}. */
    ObjectNode json(ObjectMapper om) {
        ObjectNode o = om.createObjectNode();
        o.put("min_s", min);
        o.put("median_s", median);
        o.put("n", n);
        return o;
    }
}
