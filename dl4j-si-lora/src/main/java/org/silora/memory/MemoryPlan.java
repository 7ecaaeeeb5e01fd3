package org.silora.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What a run will hold in memory at its peak, estimated before anything is loaded: the parts (weights, the arrays of
 * one training step or forward pass, SI or penalty state, the runtime) and the budget they must fit in.
 *
 * <pre>{@code
 * MemoryPlan plan = MemoryPlanner.training(cfg, lora, 2, 128, 1, Extras.si(SiMode.PAPER), MachineMemory.defaultBudget());
 * System.err.println(plan.summary());            // about 7.4 GB of 22.5 GB: weights 4.9 GB (F32), ...
 * plan.require("lower --batch-size or --seq-len, or use --grad-accum");   // one clear line when it does not fit
 * }</pre>
 *
 * @param run    what is planned, e.g. "train-general"
 * @param parts  the parts of the peak, each in bytes
 * @param budget the bytes the run may use
 */
public record MemoryPlan(String run, List<Part> parts, long budget) {

    /**
     * @param name   what it is, e.g. "weights"
     * @param bytes  its size
     * @param detail how it was sized, e.g. "F32, 1.24 B parameters"
     */
    public record Part(String name, long bytes, String detail) {
        public Part {
            Objects.requireNonNull(name, "name");
            if (bytes < 0) throw new IllegalArgumentException(name + ": negative size " + bytes);
            detail = detail == null ? "" : detail;
        }
    }

    /** A run that does not fit its budget: one line naming the estimate, the budget and the way out. */
    public static final class DoesNotFit extends IllegalArgumentException {
        private final transient MemoryPlan plan;

        DoesNotFit(MemoryPlan plan, String wayOut) {
            super(plan.run + " needs about " + gb(plan.total()) + " (" + plan.breakdown() + "), more than the "
                    + gb(plan.budget) + " it may use (--max-memory; the machine has " + gb(MachineMemory.physicalBytes())
                    + ")" + (wayOut == null || wayOut.isEmpty() ? "" : ": " + wayOut));
            this.plan = plan;
        }

        public MemoryPlan plan() {
            return plan;
        }
    }

    public MemoryPlan {
        Objects.requireNonNull(run, "run");
        parts = List.copyOf(parts);
        if (budget <= 0) throw new IllegalArgumentException("memory budget must be positive, got " + budget);
    }

    /** The estimated peak. */
    public long total() {
        long t = 0;
        for (Part p : parts) t += p.bytes();
        return t;
    }

    public boolean fits() {
        return total() <= budget;
    }

    /** The part named {@code name}, in bytes (0 if there is none). */
    public long bytes(String name) {
        long b = 0;
        for (Part p : parts) if (p.name().equals(name)) b += p.bytes();
        return b;
    }

    /** One line: the estimate, the budget and the parts. */
    public String summary() {
        return "memory plan for " + run + ": about " + gb(total()) + " of " + gb(budget) + " (" + breakdown() + ")";
    }

    /** Throws {@link DoesNotFit} (an {@link IllegalArgumentException}) unless the plan fits; returns the plan. */
    public MemoryPlan require(String wayOut) {
        if (!fits()) throw new DoesNotFit(this, wayOut);
        return this;
    }

    private String breakdown() {
        List<String> s = new ArrayList<>();
        for (Part p : parts) {
            if (p.bytes() < (16L << 20)) continue;   // below the resolution of the estimate
            s.add(p.name() + " " + gb(p.bytes()) + (p.detail().isEmpty() ? "" : " (" + p.detail() + ")"));
        }
        return String.join(", ", s);
    }

    /**
     * Bytes as GB with one decimal, 1 GB being 10⁶ kB of 1024 bytes: the unit in which {@code /usr/bin/time -v} and
     * {@code /proc/meminfo} are read (a 24 GiB machine has 24.7 GB of MemTotal).
     */
    public static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.1f GB", bytes / 1.024e9);
    }
}
