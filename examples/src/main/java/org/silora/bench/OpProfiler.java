package org.silora.bench;

import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a SameDiff step spends its time, per op type: a listener that times every op execution (from
 * {@code preOpExecution} to {@code opExecution}) and the time between ops (SameDiff's own bookkeeping: dependency
 * tracking, array cache, listener calls). Attach it for a few steps, then print {@link #table(int)}.
 *
 * <pre>{@code
 * OpProfiler p = new OpProfiler();
 * sd.addListeners(p);
 * for (int i = 0; i < 5; i++) trainer.step(List.of(batch));
 * System.err.print(p.table(20));
 * }</pre>
 */
public final class OpProfiler extends BaseListener {

    /** Time and call count of one op type. */
    public record Entry(String op, long nanos, long calls, String example) {
    }

    private final Map<String, long[]> byOp = new HashMap<>();
    private final Map<String, String> exampleShape = new HashMap<>();
    private final Map<String, long[]> byShape = new HashMap<>();
    private long opStart;
    private long lastEnd;
    private long gapNanos;
    private long opNanos;

    @Override
    public boolean isActive(Operation operation) {
        return true;
    }

    @Override
    public void preOpExecution(SameDiff sd, At at, SameDiffOp op, OpContext opContext) {
        long now = System.nanoTime();
        if (lastEnd != 0) gapNanos += now - lastEnd;
        opStart = now;
    }

    @Override
    public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext opContext, INDArray[] outputs) {
        long now = System.nanoTime();
        long dt = now - opStart;
        opNanos += dt;
        String name = op.getOp().opName();
        long[] e = byOp.computeIfAbsent(name, k -> new long[3]);
        e[0] += dt;
        e[1]++;
        if (dt > e[2]) {
            e[2] = dt;
            if (outputs != null && outputs.length > 0 && outputs[0] != null) {
                exampleShape.put(name, Arrays.toString(outputs[0].shape()));
            }
        }
        StringBuilder key = new StringBuilder(name);
        if (opContext != null) {
            for (INDArray in : opContext.getInputArrays()) key.append(' ').append(in == null ? "null" : Arrays.toString(in.shape()));
        }
        long[] d = byShape.computeIfAbsent(key.toString(), k -> new long[2]);
        d[0] += dt;
        d[1]++;
        lastEnd = now;
    }

    /** The {@code top} (op, input shapes) pairs by time, as Markdown. */
    public String detailTable(int top) {
        double total = opNanos + gapNanos;
        StringBuilder sb = new StringBuilder("| op and input shapes | calls | ms | share |\n|---|---:|---:|---:|\n");
        byShape.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).limit(top)
                .forEach(e -> sb.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f %% |%n", e.getKey(), e.getValue()[1],
                        e.getValue()[0] / 1e6, 100 * e.getValue()[0] / total)));
        return sb.toString();
    }

    /** Ends a step: the time until the next op is not counted as a gap. */
    public void stepDone() {
        lastEnd = 0;
    }

    /** Forgets everything measured so far (after warm-up). */
    public void reset() {
        byOp.clear();
        exampleShape.clear();
        byShape.clear();
        gapNanos = 0;
        opNanos = 0;
        lastEnd = 0;
    }

    /** Op types, most time first. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        byOp.forEach((k, v) -> out.add(new Entry(k, v[0], v[1], exampleShape.getOrDefault(k, ""))));
        out.sort((a, b) -> Long.compare(b.nanos(), a.nanos()));
        return out;
    }

    /** Total time inside ops, in seconds. */
    public double opSeconds() {
        return opNanos / 1e9;
    }

    /** Total time between ops (SameDiff's own work), in seconds. */
    public double gapSeconds() {
        return gapNanos / 1e9;
    }

    /** The {@code top} op types as a Markdown table, with the time between ops as its own line. */
    public String table(int top) {
        double total = opNanos + gapNanos;
        StringBuilder sb = new StringBuilder("| op | calls | ms | share | largest output |\n|---|---:|---:|---:|---|\n");
        List<Entry> es = entries();
        for (Entry e : es.subList(0, Math.min(top, es.size()))) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f %% | %s |%n", e.op(), e.calls(), e.nanos() / 1e6,
                    100 * e.nanos() / total, e.example()));
        }
        sb.append(String.format(Locale.ROOT, "| (between ops) | | %.1f | %.1f %% | |%n", gapNanos / 1e6, 100 * gapNanos / total));
        return sb.toString();
    }
}
