package org.silora.spark;

import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.lora.LoraModule;
import org.silora.lora.LoraTrainer;
import org.silora.lora.StepGradients;
import org.silora.lora.TokenBatch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Synchronous data parallelism for a {@link LoraTrainer} on Apache Spark: each step's rows are cut into
 * {@code workers} shards (each micro-batch split in order into contiguous runs of rows), one Spark task per shard
 * computes its loss and gradients on an executor's {@link Replica} with the driver's current factors, and a tree
 * aggregate sums the parts, which add up exactly to the step's ({@link StepGradients}: tokens are weighted by their
 * micro-batch's share, fixed before any pass). The driver's trainer then applies the step as in one process: penalty,
 * SI (PAPER from the summed g_A, g_B; EXACT from the summed δᵀ·x), Adam, checkpoints. So the adapter and the importance
 * equal the single-process run's, up to the order of float additions.
 *
 * <pre>{@code
 * try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("silora"))) {
 *     SparkGradientSource cluster = new SparkGradientSource(sc, ReplicaSpec.of(modelDir, loraConfig, engine), trainer, 2);
 *     trainer.train(rows, progress, cluster);   // same steps, listeners, checkpoints as trainer.train(rows, progress)
 * }
 * }</pre>
 *
 * <p>Why the optimizer and SI run on the driver, not identically on every replica: the driver then holds the one
 * authoritative state (factors, Adam's moments, ω and Δν's start), checkpoints it with the single-process code, and
 * replicas stay stateless, so a retried task or a replaced executor cannot desynchronise anything. The price is
 * sending the factors out with every task ({@code r·(in+out)} floats per module, small) and SI's ω on the driver only
 * ({@code [out, in]} per module; EXACT mode also ships each shard's {@code Σ δᵀ·x}, {@code out·in} floats per module
 * per shard and step, the dominant traffic of EXACT).
 */
public final class SparkGradientSource implements LoraTrainer.GradientSource {

    private final JavaSparkContext sc;
    private final ReplicaSpec spec;
    private final LoraTrainer driver;
    private final int workers;
    private int failAtStep = -1;
    private int failShard = -1;
    private int steps;
    private double seconds;
    private double computeSeconds;
    private double slowestSeconds;

    /**
     * @param sc      the Spark context (its master decides where tasks run)
     * @param spec    the replicas' model and LoRA layout: the driver's
     * @param driver  the trainer that applies the steps (its factors are sent out each step)
     * @param workers shards per step, one Spark task each
     */
    public SparkGradientSource(JavaSparkContext sc, ReplicaSpec spec, LoraTrainer driver, int workers) {
        if (workers < 1) throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
        if (driver.model() == null) throw new IllegalArgumentException("data-parallel training trains LoRA factors; this trainer trains other variables");
        this.sc = sc;
        this.spec = spec;
        this.driver = driver;
        this.workers = workers;
    }

    /**
     * Makes the first attempt of shard {@code shard}'s task of optimizer step {@code step} fail after its pass (a test
     * of Spark's retry: the step must come out the same). The master must allow a retry, e.g. {@code local[2,2]}.
     */
    public SparkGradientSource failOnce(int step, int shard) {
        if (shard < 0 || shard >= workers) throw new IllegalArgumentException("no shard " + shard + " of " + workers);
        this.failAtStep = step;
        this.failShard = shard;
        return this;
    }

    public int workers() {
        return workers;
    }

    @Override
    public StepGradients gradients(List<TokenBatch> microBatches, Set<String> weightGradientModules) {
        long t0 = System.nanoTime();
        int step = driver.step();
        Map<String, float[]> params = new LinkedHashMap<>();
        Map<String, long[]> taskShapes = new LinkedHashMap<>();
        for (String n : driver.trainableVariables()) {
            INDArray p = driver.lm().sameDiff().getArrForVarName(n);
            params.put(n, p.dup('c').reshape(p.length()).toFloatVector());
            taskShapes.put(n, p.shape());
        }
        Map<String, long[]> weightShapes = new LinkedHashMap<>();
        for (String m : weightGradientModules) {
            LoraModule mod = driver.model().modules().get(m);
            weightShapes.put(m, new long[]{mod.base().out(), mod.base().in()});
        }
        double[] w = StepGradients.tokenWeights(microBatches);
        List<ShardTask> tasks = new ArrayList<>();
        for (int k = 0; k < workers; k++) {
            List<List<int[]>> rows = new ArrayList<>();
            for (TokenBatch b : microBatches) rows.add(shard(b.windows(), k, workers));
            tasks.add(new ShardTask(step, k, spec, params, rows, w, Set.copyOf(weightGradientModules), step == failAtStep && k == failShard));
        }
        GradientPart sum = sc.parallelize(tasks, workers)
                .map(ShardTask::run)
                .treeAggregate(GradientPart.zero(), GradientPart::sum, GradientPart::sum);
        steps++;
        seconds += (System.nanoTime() - t0) / 1e9;
        computeSeconds += sum.computeSeconds();
        slowestSeconds += sum.slowestSeconds();
        return sum.toStepGradients(taskShapes, weightShapes);
    }

    /** Rows {@code [k·c, (k+1)·c)} of a micro-batch, {@code c = ⌈n / workers⌉}: shards in the single-process order. */
    static List<int[]> shard(List<int[]> rows, int k, int workers) {
        int c = (rows.size() + workers - 1) / workers;
        int from = Math.min(rows.size(), k * c);
        int to = Math.min(rows.size(), from + c);
        return new ArrayList<>(rows.subList(from, to));
    }

    /**
     * Timing of the steps so far: {steps, wall seconds of the Spark round trips, seconds the tasks computed in total,
     * seconds of the slowest task of each step summed}; wall − slowest is what Spark's round trip adds.
     */
    public double[] timing() {
        return new double[]{steps, seconds, computeSeconds, slowestSeconds};
    }
}
