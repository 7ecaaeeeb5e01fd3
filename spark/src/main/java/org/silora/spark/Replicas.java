package org.silora.spark;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The replicas of this executor JVM, kept from one step to the next: loading a base model costs seconds to minutes,
 * a step's task milliseconds to seconds, so a replica is loaded once per executor and concurrent task slot, and reused
 * by every later task with the same {@link ReplicaSpec}. A task borrows an idle replica (loading one when none is
 * idle: the first step, a new or replaced executor) and gives it back when done; one that failed mid-step is dropped.
 *
 * <p>Why this is process-wide state, which the project otherwise avoids: Spark gives a task nothing that outlives it
 * but its JVM, and the alternative (reloading the model in every task) multiplies the step's cost. The state is safe to
 * lose: a replica holds no training state (the driver holds the factors, Adam's moments and SI's accumulators, and
 * sends the factors with every step), so an executor that is lost or restarted just loads its replicas again, and the
 * result of the step is the same. It is keyed by the model's fingerprint and LoRA layout, so two trainings in one JVM
 * (tests, a notebook) never share a replica of another model.
 */
final class Replicas {

    private static final Map<ReplicaSpec, ConcurrentLinkedDeque<Replica>> IDLE = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private Replicas() {
    }

    /** An idle replica of {@code spec}, or a newly loaded one. */
    static Replica borrow(ReplicaSpec spec) {
        Replica r = IDLE.computeIfAbsent(spec, k -> new ConcurrentLinkedDeque<>()).pollFirst();
        if (r != null) return r;
        LOADS.incrementAndGet();
        return Replica.load(spec);
    }

    /** Returns a replica whose task finished. */
    static void giveBack(Replica r) {
        IDLE.computeIfAbsent(r.spec, k -> new ConcurrentLinkedDeque<>()).addFirst(r);
    }

    /** Replicas loaded by this JVM so far (a diagnostic: after the first step it stops growing). */
    static int loads() {
        return LOADS.get();
    }
}
