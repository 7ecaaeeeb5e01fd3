package org.silora.spark;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.silora.cli.DataParallel;
import org.silora.lora.LoraTrainer;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The spark jar's options of {@code train-general} and {@code train-domain}: where the Spark tasks run and how many
 * shards a step has. The Spark context is made when training starts (after the command has checked its options and
 * loaded its data) and closed by {@link #close()}.
 */
public final class SparkOptions implements DataParallel, AutoCloseable {

    @Option(names = "--master", paramLabel = "URL", description = "Spark master: local[N] (local[N,F]: F tries a task), spark://HOST:7077, yarn, "
            + "k8s://URL (default: the one spark-submit set, else local[--workers])")
    String master;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "2", description = "shards of every step, one Spark task each (default ${DEFAULT-VALUE})")
    int workers;

    private JavaSparkContext sc;

    @Override
    public LoraTrainer.GradientSource source(Path modelDir, LoraTrainer trainer) {
        if (workers < 1) throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
        SparkConf conf = new SparkConf().setAppName("silora-spark");
        if (master != null) conf.setMaster(master);
        else if (!conf.contains("spark.master")) conf.setMaster("local[" + workers + "]");
        sc = JavaSparkContext.fromSparkContext(SparkContext.getOrCreate(conf));
        return new SparkGradientSource(sc, ReplicaSpec.of(modelDir, trainer.model().config(), trainer.options().engine()), trainer, workers);
    }

    @Override
    public void describe(ObjectNode summary) {
        summary.put("workers", workers);
        summary.put("master", sc == null ? master : sc.master());
    }

    @Override
    public void close() {
        if (sc != null) sc.close();
        sc = null;
    }
}
