package org.silora.spark;

import org.apache.spark.TaskContext;
import org.silora.lora.StepGradients;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One Spark task's share of a step: the driver's current LoRA factors, this shard's rows of each micro-batch, the
 * micro-batches' token weights and the modules whose weight gradients are wanted. Run on an executor with a borrowed
 * {@link Replica}.
 *
 * @param step         the optimizer step (for messages and fault injection)
 * @param shard        this task's shard index, 0 first
 * @param spec         the replica to use
 * @param params       factor values by variable name, row-major
 * @param rows         {@code rows[m]}: this shard's rows of micro-batch m (possibly none)
 * @param tokenWeights {@code 1/(M·T_m)} of each micro-batch
 * @param weightModules modules whose {@code Σ weight·δᵀ·x} the driver's listeners read
 * @param failFirstAttempt throw on the first attempt of this task (tests: a task that fails mid-step)
 */
record ShardTask(int step, int shard, ReplicaSpec spec, Map<String, float[]> params, List<List<int[]>> rows,
                 double[] tokenWeights, Set<String> weightModules, boolean failFirstAttempt) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Computes this shard's part of the step on the executor that runs it. */
    GradientPart run() {
        long t0 = System.nanoTime();
        Replica replica = Replicas.borrow(spec);
        boolean healthy = false;
        try {
            StepGradients g = replica.run(params, rows, tokenWeights, weightModules);
            TaskContext tc = TaskContext.get();
            if (failFirstAttempt && tc != null && tc.attemptNumber() == 0) {
                // after the pass, so that the retry proves a half-done task leaves nothing behind
                throw new IllegalStateException("injected failure of shard " + shard + " in step " + step + " (attempt 0)");
            }
            healthy = true;
            return GradientPart.of(g, (System.nanoTime() - t0) / 1e9);
        } finally {
            if (healthy) Replicas.giveBack(replica);   // a replica that failed mid-step is dropped, the next task loads anew
        }
    }
}
