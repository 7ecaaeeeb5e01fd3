package org.silora.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.silora.bench.RandomCheckpoint;
import org.silora.demo.ShippedModels;
import org.silora.hf.AtomicFiles;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.safetensors.DType;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TokenBatch;
import org.silora.lora.TrainingOptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * What the Spark round trip costs a step: the median time of a LoRA step (q/v, r 8, one micro-batch) in this process,
 * or with its gradients from {@code --workers} Spark tasks on {@code --master}, on the shipped tiny LLaMA or a random
 * LLaMA d512 × 8 (the bench's synthetic model). One JSON line on stdout. Run each mode in its own JVM under
 * {@code /usr/bin/time -v} for its peak RSS.
 *
 * <pre>{@code
 * java $OPENS -cp spark/target/silora-spark.jar org.silora.spark.StepCost --size d512 --mode spark --master 'local[2]' --workers 2
 * }</pre>
 */
public final class StepCost {

    private StepCost() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new java.util.HashMap<>(Map.of("--size", "tiny", "--mode", "single", "--master", "local[2]",
                "--workers", "2", "--batch", "8", "--seq", "128", "--steps", "10", "--dir", System.getProperty("java.io.tmpdir")));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!o.containsKey(args[i])) throw new IllegalArgumentException("unknown option " + args[i] + " (have " + o.keySet() + ")");
            o.put(args[i], args[i + 1]);
        }
        Path dir = model(o.get("--size"), Path.of(o.get("--dir")));
        int batch = Integer.parseInt(o.get("--batch"));
        int seq = Integer.parseInt(o.get("--seq"));
        int steps = Integer.parseInt(o.get("--steps"));
        int workers = Integer.parseInt(o.get("--workers"));
        LoraConfig lora = LoraConfig.builder().build();
        LoraModel model = LoraModel.create(dir, lora, 1);
        LoraTrainer trainer = new LoraTrainer(model, TrainingOptions.builder().batchSize(batch).build());
        Random rnd = new Random(1);
        List<int[]> rows = new ArrayList<>();
        int vocab = model.lm().config().vocabSize();
        for (int r = 0; r < batch; r++) rows.add(rnd.ints(seq + 1, 0, vocab).toArray());
        List<TokenBatch> micro = List.of(new TokenBatch(rows));
        boolean spark = o.get("--mode").equals("spark");
        JavaSparkContext sc = null;
        SparkGradientSource source = null;
        if (spark) {
            sc = new JavaSparkContext(new SparkConf().setMaster(o.get("--master")).setAppName("silora-step-cost").set("spark.ui.enabled", "false"));
            source = new SparkGradientSource(sc, ReplicaSpec.of(dir, lora, TrainingOptions.Engine.AUTO), trainer, workers);
        }
        try {
            double[] t = new double[steps];
            double[] warm = null;
            for (int s = -2; s < steps; s++) {   // two warm-up steps: replicas load, arrays are allocated
                if (s == 0 && spark) warm = source.timing();
                long t0 = System.nanoTime();
                if (spark) trainer.step(micro, source);
                else trainer.step(micro);
                if (s >= 0) t[s] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(t);
            StringBuilder json = new StringBuilder(String.format(Locale.ROOT,
                    "{\"size\":\"%s\",\"mode\":\"%s\",\"batch\":%d,\"seq\":%d,\"steps\":%d,\"step_s_median\":%.4f,\"step_s_min\":%.4f",
                    o.get("--size"), o.get("--mode"), batch, seq, steps, t[steps / 2], t[0]));
            if (spark) {
                double[] tm = source.timing();
                for (int i = 0; i < tm.length; i++) tm[i] -= warm[i];   // the measured steps only
                json.append(String.format(Locale.ROOT, ",\"master\":\"%s\",\"workers\":%d,\"slowest_task_s_mean\":%.4f,"
                        + "\"task_s_mean\":%.4f,\"round_trip_s_mean\":%.4f", o.get("--master"), workers, tm[3] / tm[0],
                        tm[2] / tm[0] / workers, tm[1] / tm[0]));
            }
            System.out.println(json.append('}'));
        } finally {
            if (sc != null) sc.close();
            model.lm().close();
        }
    }

    /** The shipped tiny LLaMA, or the bench's random LLaMA d512 × 8 (hidden 512, 8 layers, 8 heads, vocabulary 4096). */
    private static Path model(String size, Path root) throws Exception {
        switch (size) {
            case "tiny" -> {
                return ShippedModels.extract("tiny-llama", root.resolve("silora-step-cost"));
            }
            case "d512" -> {
                Path dir = root.resolve("silora-step-cost").resolve("d512");
                if (!Files.exists(dir.resolve("model.safetensors"))) {
                    Files.createDirectories(dir);
                    LlamaConfig cfg = new LlamaConfig(4096, 512, 1376, 8, 8, 8, 64, 1e-5, 10000.0, null, 2048, false, false, false);
                    AtomicFiles.writeString(dir.resolve("config.json"), ModelConfigs.toJson(cfg));
                    RandomCheckpoint.writeWeights(cfg, DType.F32, 1, dir.resolve("model.safetensors"), Map.of("format", "pt"));
                }
                return dir;
            }
            default -> throw new IllegalArgumentException("--size must be tiny or d512, got " + size);
        }
    }
}
