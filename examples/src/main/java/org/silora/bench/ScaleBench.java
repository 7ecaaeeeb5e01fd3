package org.silora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.demo.ShippedModels;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code silora bench --scale}: the product at real sizes. For public configurations (LLaMA-3.2-1B and 3B, GPT-J-6B)
 * it writes checkpoints of random weights ({@link RandomCheckpoint}), then runs the real commands in child processes
 * ({@code logits}, {@code train-general} in both SI modes, {@code train-domain --method si}, {@code eval}) and a
 * sequence-length sweep, and reports each run's peak RSS beside its memory plan, the load time and the step time.
 * Peak RSS is the child's {@code VmHWM} (what {@code /usr/bin/time -v} reports as maximum resident set size).
 *
 * <pre>{@code
 * ObjectNode r = ScaleBench.run(ScaleBench.Options.standard(), Path.of("silora-out/bench"), System.err, jvm);
 * }</pre>
 */
public final class ScaleBench {

    /**
     * @param models  configurations to measure (names in {@link RandomCheckpoint#SHIPPED}, or paths of a
     *                {@code config.json} for tests)
     * @param sweep   sequence lengths of the step-time sweep on the first LLaMA model (empty: none)
     * @param rows    rows per training run ({@code --max-rows})
     */
    public record Options(List<String> models, List<Integer> sweep, int rows) {
        public Options {
            models = List.copyOf(models);
            sweep = List.copyOf(sweep);
            if (models.isEmpty()) throw new IllegalArgumentException("no model to measure");
            if (rows < 1) throw new IllegalArgumentException("rows must be >= 1");
        }

        public static Options standard() {
            return new Options(List.of("llama-3.2-1b", "llama-3.2-3b", "gpt-j-6b"), List.of(128, 256, 512, 1024, 2048), 8);
        }
    }

    /** One child run: its command line, exit code, peak RSS, wall time and JSON (null when it printed none). */
    record Run(String name, List<String> args, int exit, long peakKb, double seconds, JsonNode json, String plan, String error) {
    }

    private static final Pattern PLAN = Pattern.compile("memory plan for [^:]+: about ([0-9.]+) GB");

    private ScaleBench() {
    }

    public static ObjectNode run(Options opt, Path work, PrintStream log, Jvm jvm) throws IOException, InterruptedException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        Path dir = work.resolve("scale");
        Files.createDirectories(dir);
        Path data = ShippedModels.data("brown-train.jsonl", dir.resolve("data"));
        Path domain = ShippedModels.data("medical-train.jsonl", dir.resolve("data"));
        Path heldOut = ShippedModels.data("brown-heldout.jsonl", dir.resolve("data"));
        ArrayNode models = root.putArray("models");
        boolean swept = false;
        for (String name : opt.models()) {
            Path model = checkpoint(name, dir, log);
            ModelConfig cfg = ModelConfigs.load(model);
            boolean llama = cfg instanceof org.silora.hf.config.LlamaConfig;
            ObjectNode m = models.addObject();
            m.put("model", name);
            m.put("architecture", cfg.architecture());
            m.put("parameters", parameters(cfg));
            m.put("checkpoint_bytes", Files.size(model.resolve("model.safetensors")));
            try (org.silora.hf.safetensors.SafetensorsCheckpoint ck = org.silora.hf.safetensors.SafetensorsCheckpoint.open(model)) {
                m.put("checkpoint_dtype", ck.dominantDtype().name());
            }
            ArrayNode runs = m.putArray("runs");
            String ids = ids(128, 4000);
            List<Run> rs = new ArrayList<>();
            rs.add(child(jvm, "logits", log, "logits", "--model", model.toString(), "--ids", ids));
            if (llama) {
                // what holding the weights in 16 bits costs in time (and saves in memory) where float32 fits too
                rs.add(child(jvm, "logits bf16 weights", log, "logits", "--model", model.toString(), "--ids", ids, "--weights-dtype", "bf16"));
                int batch = parameters(cfg) < 2_000_000_000L ? 2 : 1;
                Path nu = dir.resolve("out").resolve(name + "-nu");
                for (String mode : List.of("paper", "exact")) {
                    rs.add(child(jvm, "train-general " + mode, log, "train-general", "--model", model.toString(), "--data", data.toString(),
                            "--out", dir.resolve("out").resolve(name + "-nu-" + mode).toString(), "--batch-size", Integer.toString(batch),
                            "--seq-len", "128", "--max-rows", Integer.toString(opt.rows() * batch / 2), "--epochs", "1", "--si-mode", mode));
                }
                Path imp = dir.resolve("out").resolve(name + "-nu-paper").resolve("importance.safetensors");
                if (Files.exists(imp)) {
                    rs.add(child(jvm, "train-domain si", log, "train-domain", "--model", model.toString(), "--method", "si",
                            "--importance", imp.toString(), "--data", domain.toString(), "--out", nu.resolveSibling(name + "-mu-si").toString(),
                            "--batch-size", Integer.toString(batch), "--seq-len", "128", "--max-rows", Integer.toString(opt.rows() * batch / 2),
                            "--epochs", "1"));
                }
            } else {
                rs.add(child(jvm, "eval ppl", log, "eval", "--model", model.toString(), "--task", "ppl", "--data", heldOut.toString(),
                        // one Brown document (~3 000 tokens): a 4 x 512 batch of GPT-J-6B is ~25 TFLOP, minutes here
                        "--limit", "1", "--window", "512", "--batch-size", "4"));
            }
            for (Run r : rs) runs.add(json(om, r));
            if (llama && !swept && !opt.sweep().isEmpty()) {
                swept = true;
                ArrayNode sweep = root.putArray("seq_len_sweep");
                root.put("seq_len_sweep_model", name);
                for (int len : opt.sweep()) {
                    Run r = child(jvm, "train-general paper 1 x " + len, log, "train-general", "--model", model.toString(), "--data", data.toString(),
                            "--out", dir.resolve("out").resolve(name + "-sweep-" + len).toString(), "--batch-size", "1", "--seq-len",
                            Integer.toString(len), "--max-rows", "3", "--epochs", "1");
                    ObjectNode o = json(om, r);
                    o.put("seq_len", len);
                    sweep.add(o);
                }
            }
        }
        return root;
    }

    /** The random checkpoint of {@code name} (a shipped configuration, or a path to a config.json) under {@code dir}. */
    static Path checkpoint(String name, Path dir, PrintStream log) throws IOException {
        if (RandomCheckpoint.SHIPPED.contains(name)) {
            ModelConfig cfg = ModelConfigs.parse(new ObjectMapper().readTree(RandomCheckpoint.config(name)), Path.of(name));
            DType dt = cfg instanceof org.silora.hf.config.GptjConfig ? DType.F16 : DType.BF16;
            log.println("bench --scale: checkpoint " + name + " (" + dt + ", random weights; written once, then reused)");
            return RandomCheckpoint.write(name, dt, 7, dir.resolve("models").resolve(name));
        }
        Path cfgFile = Path.of(name);
        Path out = dir.resolve("models").resolve(cfgFile.getFileName().toString().replace(".json", ""));
        Files.createDirectories(out);
        Files.copy(cfgFile, out.resolve("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        ModelConfig cfg = ModelConfigs.load(out);
        RandomCheckpoint.writeWeights(cfg, DType.BF16, 7, out.resolve("model.safetensors"), java.util.Map.of("format", "pt"));
        Path tok = ShippedModels.extract(cfg instanceof org.silora.hf.config.GptjConfig ? "tiny-gptj" : "tiny-llama", out.resolve(".shipped"));
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
            if (Files.exists(tok.resolve(f))) Files.copy(tok.resolve(f), out.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return out;
    }

    /** Runs {@code silora args} in a child JVM set up as the launcher sets itself up; polls its peak RSS. */
    static Run child(Jvm jvm, String name, PrintStream log, String... args) throws IOException, InterruptedException {
        log.println("bench --scale: " + name);
        ProcessBuilder pb = jvm.child(List.of(args));
        Path err = Files.createTempFile("silora-scale", ".err");
        pb.redirectError(err.toFile());
        long t0 = System.nanoTime();
        Process p = pb.start();
        byte[] out;
        long peak;
        try (var in = p.getInputStream()) {
            long[] hwm = {0};
            Thread poll = new Thread(() -> {
                while (p.isAlive()) {
                    hwm[0] = Math.max(hwm[0], vmHwmKb(p.pid()));
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            poll.setDaemon(true);
            poll.start();
            out = in.readAllBytes();
            int exit = p.waitFor();
            poll.join();
            peak = hwm[0];
            double seconds = (System.nanoTime() - t0) / 1e9;
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            Files.deleteIfExists(err);
            Matcher m = PLAN.matcher(stderr);
            String plan = null;
            while (m.find()) plan = m.group(1);
            JsonNode json = null;
            String text = new String(out, StandardCharsets.UTF_8).strip();
            if (!text.isEmpty() && !args[0].equals("logits")) {
                try {
                    json = new ObjectMapper().readTree(text.substring(text.lastIndexOf("\n{") + 1));
                } catch (IOException e) {
                    json = null;
                }
            }
            String error = exit == 0 ? null : lastLine(stderr);
            log.printf(Locale.ROOT, "bench --scale: %s: exit %d, peak RSS %.2f GB (plan %s GB), %.0f s%n", name, exit,
                    peak / 1e6, plan, seconds);
            return new Run(name, List.of(args), exit, peak, seconds, json, plan, error);
        }
    }

    /** {@code VmHWM} of a live process in kB (0 when it cannot be read). */
    static long vmHwmKb(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("\\D+", ""));
            }
        } catch (IOException | RuntimeException ignored) {
            // the process ended between two polls
        }
        return 0;
    }

    private static ObjectNode json(ObjectMapper om, Run r) {
        ObjectNode o = om.createObjectNode();
        o.put("run", r.name());
        o.put("exit", r.exit());
        o.put("peak_rss_gb", r.peakKb() / 1e6);
        if (r.plan() != null) o.put("planned_gb", Double.parseDouble(r.plan()));
        o.put("wall_seconds", r.seconds());
        if (r.error() != null) o.put("error", r.error());
        JsonNode j = r.json();
        if (j != null) {
            if (j.has("load_seconds")) o.put("load_seconds", j.get("load_seconds").asDouble());
            if (j.has("steps") && j.has("seconds") && j.get("steps").asInt() > 0) {
                o.put("steps", j.get("steps").asInt());
                o.put("step_seconds", j.get("seconds").asDouble() / j.get("steps").asInt());
                if (j.has("tokens")) o.put("train_tokens_per_s", j.get("tokens").asDouble() / j.get("seconds").asDouble());
            }
            if (j.has("ppl")) o.put("ppl_seconds", j.get("seconds").asDouble());
        }
        return o;
    }

    private static String lastLine(String s) {
        String[] lines = s.strip().split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1];
    }

    static long parameters(ModelConfig cfg) {
        long n = 0;
        for (long[] s : CausalLm.tensorShapes(cfg).values()) {
            long k = 1;
            for (long d : s) k *= d;
            n += k;
        }
        return n;
    }

    private static String ids(int n, int vocab) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) b.append(i == 0 ? "" : ",").append((i * 7) % vocab + 1);
        return b.toString();
    }

    /** A table of the runs for the README. */
    public static String table(ObjectNode r) {
        StringBuilder b = new StringBuilder("| model | run | peak RSS (GB) | plan (GB) | load (s) | step (s) | exit |\n|---|---|---:|---:|---:|---:|---:|\n");
        for (JsonNode m : r.get("models")) {
            for (JsonNode run : m.get("runs")) {
                b.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %s | %s | %s | %d |%n", m.get("model").asText(), run.get("run").asText(),
                        run.get("peak_rss_gb").asDouble(), run.has("planned_gb") ? String.format(Locale.ROOT, "%.1f", run.get("planned_gb").asDouble()) : "",
                        run.has("load_seconds") ? String.format(Locale.ROOT, "%.0f", run.get("load_seconds").asDouble()) : "",
                        run.has("step_seconds") ? String.format(Locale.ROOT, "%.1f", run.get("step_seconds").asDouble()) : "",
                        run.get("exit").asInt()));
            }
        }
        if (r.has("seq_len_sweep")) {
            b.append("\n| seq len | peak RSS (GB) | plan (GB) | step (s) | tokens/s |\n|---:|---:|---:|---:|---:|\n");
            for (JsonNode s : r.get("seq_len_sweep")) {
                b.append(String.format(Locale.ROOT, "| %d | %.2f | %s | %s | %s |%n", s.get("seq_len").asInt(), s.get("peak_rss_gb").asDouble(),
                        s.has("planned_gb") ? String.format(Locale.ROOT, "%.1f", s.get("planned_gb").asDouble()) : "",
                        s.has("step_seconds") ? String.format(Locale.ROOT, "%.1f", s.get("step_seconds").asDouble()) : "",
                        s.has("train_tokens_per_s") ? String.format(Locale.ROOT, "%.0f", s.get("train_tokens_per_s").asDouble()) : ""));
            }
        }
        return b.toString();
    }
}
