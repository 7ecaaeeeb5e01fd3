package org.silora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark suite of SPEC §6, measured in one run on one machine, reported as ratios where the machine
 * matters: {@code gemm_gflops} (ND4J sgemm peak of this run, {@link GemmPeak}), {@code train_tokens_per_s} and
 * {@code mfu} of LoRA training ({@link TrainThroughput}), {@code si_overhead} ({@link SiOverhead}),
 * {@code importance_speedup} (EWC Fisher ÷ ν with SI over the same samples) and {@code importance_storage_ratio}
 * ({@link ImportanceCost}), {@code import_gb_per_s} ({@link ImportSpeed}) and {@code peak_rss_mb}. Each timing is a
 * min and a median over repeats after warm-up. Besides: {@code importance_speedup_paper_protocol} (the same
 * comparison at the paper's 20 000 Fisher samples against 2 000 documents × 5 epochs of 800 tokens,
 * {@link PaperProtocol}), the LoRA step under four thread settings ({@link ThreadSettings}), the scaling curves of a
 * LoRA step against sequence length and width ({@code scaling}, {@link Scaling}), and the peers' figures when they
 * are on the machine ({@code peers}, {@code speed_ratio_vs_torch}, {@link Peers}).
 *
 * <pre>{@code
 * Bench.Options opt = Bench.Options.quick().toBuilder().peers(Peers.Setup.none("--no-peers")).build();
 * ObjectNode json = Bench.run(opt, Path.of("silora-out/bench"), System.err, jvm);
 * System.err.print(Bench.table(json));
 * }</pre>
 */
public final class Bench {

    /**
     * What a run measures and how long it times each figure. Start from a preset and change what differs:
     * <pre>{@code
     * Bench.Options o = Bench.Options.standard().toBuilder().scaling(false).build();
     * }</pre>
     *
     * @param repeats         timed repeats of each measurement (after warm-up)
     * @param warmup          untimed warm-up steps (SameDiff's array cache fills during the first steps)
     * @param batch           rows per training step
     * @param seqLen          tokens per row
     * @param samples         general samples for the Fisher vs SI comparison (at least one batch: ν warms up on one)
     * @param importBytes     approximate size of the checkpoint written for the import measurement
     * @param largeModel      also measure the synthetic LLaMA (d 512, 8 layers): the headline, and the peers' step
     * @param scaling         also measure the scaling curves ({@link Scaling}: about 2–3 minutes on 2 cores)
     * @param importanceAt800 also measure the per-sample Fisher and ν costs at the paper's 800 tokens (about 30 s);
     *                        otherwise {@code importance_speedup_paper_protocol} scales the bench's costs per token
     * @param peers           where the peers are and whether to run them (after the d 512 headline)
     */
    public record Options(int repeats, int warmup, int batch, int seqLen, int samples, long importBytes, boolean largeModel,
                          boolean scaling, boolean importanceAt800, Peers.Setup peers) {

        public Options {
            atLeast("repeats", repeats, 1);
            atLeast("warmup", warmup, 0);
            atLeast("batch", batch, 1);
            atLeast("seqLen", seqLen, 2);   // an importance sample of seqLen tokens predicts seqLen - 1 of them
            atLeast("importBytes", importBytes, 1);
            if (samples < batch) {
                throw new IllegalArgumentException("bench options: samples must be at least batch (" + batch
                        + "; the nu phase warms up on one batch of them), got " + samples);
            }
            if (peers == null) {
                throw new IllegalArgumentException("bench options: peers is missing (Peers.Setup.none(reason) runs none)");
            }
        }

        private static void atLeast(String name, long value, long min) {
            if (value < min) throw new IllegalArgumentException("bench options: " + name + " must be at least " + min + ", got " + value);
        }

        /** The full suite: 5 repeats after 5 warm-up steps of 8 × 128 tokens, the d512 model, scaling curves, peers. */
        public static Options standard() {
            return new Options(5, 5, 8, 128, 64, 300L << 20, true, true, true, Peers.Setup.defaults(null));
        }

        /** {@code --quick}: 3 repeats of 8 × 64 tokens on the tiny model only, no scaling curves, no peers. */
        public static Options quick() {
            return standard().toBuilder()
                    .repeats(3).warmup(3).seqLen(64).samples(32).importBytes(64L << 20)
                    .largeModel(false).scaling(false).importanceAt800(false)
                    .peers(Peers.Setup.none("--quick: no d512 x 8 measurement to compare with"))
                    .build();
        }

        /** A builder holding these options, to change some of them by name. */
        public Builder toBuilder() {
            return new Builder(this);
        }

        /** Sets options by name; {@link #build()} validates them all together. */
        public static final class Builder {
            private int repeats;
            private int warmup;
            private int batch;
            private int seqLen;
            private int samples;
            private long importBytes;
            private boolean largeModel;
            private boolean scaling;
            private boolean importanceAt800;
            private Peers.Setup peers;

            private Builder(Options o) {
                repeats = o.repeats;
                warmup = o.warmup;
                batch = o.batch;
                seqLen = o.seqLen;
                samples = o.samples;
                importBytes = o.importBytes;
                largeModel = o.largeModel;
                scaling = o.scaling;
                importanceAt800 = o.importanceAt800;
                peers = o.peers;
            }

            public Builder repeats(int n) {
                repeats = n;
                return this;
            }

            public Builder warmup(int n) {
                warmup = n;
                return this;
            }

            public Builder batch(int rows) {
                batch = rows;
                return this;
            }

            public Builder seqLen(int tokens) {
                seqLen = tokens;
                return this;
            }

            public Builder samples(int n) {
                samples = n;
                return this;
            }

            public Builder importBytes(long bytes) {
                importBytes = bytes;
                return this;
            }

            public Builder largeModel(boolean on) {
                largeModel = on;
                return this;
            }

            public Builder scaling(boolean on) {
                scaling = on;
                return this;
            }

            public Builder importanceAt800(boolean on) {
                importanceAt800 = on;
                return this;
            }

            public Builder peers(Peers.Setup setup) {
                peers = setup;
                return this;
            }

            public Options build() {
                return new Options(repeats, warmup, batch, seqLen, samples, importBytes, largeModel, scaling, importanceAt800, peers);
            }
        }
    }

    private final Options opt;
    private final Path work;
    private final PrintStream log;
    private final ObjectMapper om = new ObjectMapper();
    private final ObjectNode root = om.createObjectNode();
    private final Laps laps;

    private Bench(Options opt, Path work, PrintStream log) {
        this.opt = opt;
        this.work = work;
        this.log = log;
        root.set("machine", Machine.json(om));
        laps = new Laps(om);   // after the machine: ND4J's start is no section's cost
    }

    /**
     * Runs the suite with {@code work} as its work folder (the shipped model, the import checkpoint, the peers'
     * output), progress lines to {@code log}, child JVMs of the thread comparison through {@code jvm}; the JSON back.
     */
    public static ObjectNode run(Options opt, Path work, PrintStream log, Jvm jvm) throws IOException {
        Files.createDirectories(work);
        return new Bench(opt, work, log).suite(jvm);
    }

    private ObjectNode suite(Jvm jvm) throws IOException {
        double peak = gemmPeak();
        Subject tiny = Subject.tiny(work);
        training(tiny, peak);
        threadSettings(jvm);
        siOverhead(tiny);
        importance(tiny);
        importSpeed();
        root.put("peak_rss_mb", Machine.peakRssMb());   // before the scaling curves: their d2048 model would dominate it
        if (opt.scaling()) scaling(peak);
        root.set("section_seconds", laps.json());
        return root;
    }

    /** {@code gemm}, {@code gemm_gflops}; the peak every MFU is measured against. */
    private double gemmPeak() {
        log.println("bench: sgemm peak");
        GemmPeak gemm = GemmPeak.measure();
        root.set("gemm", gemm.json(om));
        root.put("gemm_gflops", gemm.peak());
        laps.lap("gemm");
        return gemm.peak();
    }

    /**
     * {@code train[]} (the tiny model, then the d512 one when measured), {@code peers} beside the d512 step,
     * and the headline {@code train_tokens_per_s}, {@code mfu}, {@code mfu_model}: the d512 model's when measured,
     * as it is LLM-shaped (the tiny one, d 192, measures per-op dispatch more than matmuls).
     */
    private void training(Subject tiny, double peak) {
        ObjectNode tinyRow = TrainThroughput.measure(om, tiny, opt, peak, log);
        ObjectNode largeRow = opt.largeModel() ? TrainThroughput.measure(om, Subject.large(), opt, peak, log) : null;
        laps.lap("train");
        ObjectNode peers;
        if (largeRow != null) {
            // the same d512 x 8 LoRA step in PyTorch / libtorch, right after ours, when they are on the machine
            peers = Peers.compare(om, opt.peers(), opt.batch(), opt.seqLen(), largeRow.get("step").get("median_s").asDouble(), work, log);
            laps.lap("peers");
        } else {
            peers = Peers.notCompared(om, opt.peers());
        }
        ObjectNode headline = largeRow != null ? largeRow : tinyRow;

        ArrayNode rows = root.putArray("train");
        rows.add(tinyRow);
        if (largeRow != null) rows.add(largeRow);
        root.put("train_tokens_per_s_tiny", tinyRow.get("train_tokens_per_s").asDouble());
        root.put("mfu_tiny", tinyRow.get("mfu").asDouble());
        if (largeRow != null) root.put("mfu_large", largeRow.get("mfu").asDouble());
        root.set("peers", peers);
        for (String k : List.of("speed_ratio_vs_torch", "speed_ratio_vs_libtorch")) {
            if (peers.has(k)) root.put(k, peers.get(k).asDouble());
        }
        root.put("train_tokens_per_s", headline.get("train_tokens_per_s").asDouble());
        root.put("mfu", headline.get("mfu").asDouble());
        root.put("mfu_model", headline.get("model").asText());
    }

    /** {@code thread_settings}: the step under four thread settings, each in a child JVM. */
    private void threadSettings(Jvm jvm) {
        root.set("thread_settings", ThreadSettings.compare(om, opt, work, log, jvm));
        laps.lap("thread_settings");
    }

    /**
     * {@code si_overhead_detail} and {@code si_overhead} (the default mode, paper) / {@code si_overhead_exact} on the
     * tiny model; with the large model also at the headline size and at LLaMA-3.2-1B's layer shape (two such layers,
     * 2 × 128 tokens): {@code si_overhead_d512}, {@code si_overhead_1b_layers} and their {@code _exact} twins.
     */
    private void siOverhead(Subject tiny) {
        log.println("bench: SI overhead");
        ObjectNode si = SiOverhead.measure(om, tiny, opt, opt.batch(), opt.seqLen());
        root.set("si_overhead_detail", si);
        root.put("si_overhead", si.get("paper").asDouble());
        root.put("si_overhead_exact", si.get("exact").asDouble());
        if (opt.largeModel()) {
            siOverheadAt("d512", Subject.large(), opt.batch(), opt.seqLen(), si);
            siOverheadAt("1b_layers", Subject.oneBLayers(), 2, 128, si);
        }
        laps.lap("si_overhead");
    }

    private void siOverheadAt(String label, Subject subject, int rows, int tokens, ObjectNode detail) {
        log.println("bench: SI overhead, " + subject.name());
        ObjectNode at = detail.putObject(label);
        at.put("model", subject.name());
        at.setAll(SiOverhead.measure(om, subject, opt, rows, tokens));
        root.put("si_overhead_" + label, at.get("paper").asDouble());
        root.put("si_overhead_exact_" + label, at.get("exact").asDouble());
    }

    /**
     * {@code importance}, {@code importance_speedup(_batched)}, {@code importance_paper_protocol} and
     * {@code importance_speedup_paper_protocol} (measured at 800 tokens when the options ask, else scaled per token),
     * {@code importance_storage_ratio(_f16)}.
     */
    private void importance(Subject tiny) {
        log.println("bench: importance cost");
        ImportanceCost cost = ImportanceCost.measure(tiny, opt);
        laps.lap("importance");
        PaperProtocol.Measured at800 = null;
        if (opt.importanceAt800()) {
            log.println("bench: importance cost at " + PaperProtocol.PAPER_TOKENS + " tokens (paper protocol)");
            at800 = ImportanceCost.measureAt800(tiny, opt);
            laps.lap("importance_at_800");
        }
        // the protocol gives EWC twice the sample-passes of SI's nu phase, so this is about 2 x importance_speedup
        ObjectNode paper = PaperProtocol.json(om, cost.fisherSeconds() / cost.samples(), cost.siSeconds() / cost.samples(),
                opt.seqLen(), at800);
        root.set("importance", cost.json(om));
        root.put("importance_speedup", cost.speedup());
        root.put("importance_speedup_batched", cost.speedupBatched());
        root.set("importance_paper_protocol", paper);
        root.put("importance_speedup_paper_protocol", paper.get("speedup").asDouble());
        root.put("importance_storage_ratio", cost.storageRatio());
        root.put("importance_storage_ratio_f16", cost.storageRatioF16());
    }

    /** {@code import}, {@code import_gb_per_s} (reading every tensor of a checkpoint written here). */
    private void importSpeed() throws IOException {
        log.println("bench: import speed");
        ObjectNode imp = ImportSpeed.measure(om, work.resolve("import-checkpoint"), opt);
        root.set("import", imp);
        root.put("import_gb_per_s", imp.get("read_gb_per_s").asDouble());
        laps.lap("import");
    }

    /** {@code scaling}: the curves, and the peak RSS they reached. */
    private void scaling(double peak) {
        log.println("bench: scaling curves");
        ObjectNode sc = Scaling.run(om, opt, peak, log);
        sc.put("peak_rss_mb_after", Machine.peakRssMb());
        root.set("scaling", sc);
        laps.lap("scaling");
    }

    /** The figures against this milestone's targets, as a Markdown table. */
    public static String table(ObjectNode r) {
        StringBuilder sb = new StringBuilder();
        sb.append("| figure | value | target |\n|---|---:|---:|\n");
        sb.append(String.format(Locale.ROOT, "| gemm_gflops | %.1f | |%n", r.get("gemm_gflops").asDouble()));
        sb.append(String.format(Locale.ROOT, "| train_tokens_per_s (%s) | %.0f | |%n", r.get("mfu_model").asText(), r.get("train_tokens_per_s").asDouble()));
        sb.append(String.format(Locale.ROOT, "| mfu (%s) | %.3f | ≥ 0.30 |%n", r.get("mfu_model").asText(), r.get("mfu").asDouble()));
        sb.append(String.format(Locale.ROOT, "| train_tokens_per_s_tiny / mfu_tiny (tiny-llama) | %.0f / %.3f | |%n",
                r.get("train_tokens_per_s_tiny").asDouble(), r.get("mfu_tiny").asDouble()));
        sb.append(String.format(Locale.ROOT, "| si_overhead (paper) / si_overhead_exact | %.3f / %.3f | ≤ 1.10 |%n",
                r.get("si_overhead").asDouble(), r.get("si_overhead_exact").asDouble()));
        sb.append(String.format(Locale.ROOT, "| importance_speedup (Fisher: one backward per sample) | %.2f | ≥ 20 |%n", r.get("importance_speedup").asDouble()));
        sb.append(String.format(Locale.ROOT, "| importance_speedup_batched (Fisher: batched δᵀx) | %.2f | |%n", r.get("importance_speedup_batched").asDouble()));
        if (r.has("importance_speedup_paper_protocol")) {
            sb.append(String.format(Locale.ROOT, "| importance_speedup_paper_protocol (20000 × Fisher ÷ 2000 × 5 × ν, 800 tokens; %s) | %.2f | |%n",
                    r.get("importance_paper_protocol").has("measured_at_800") ? "measured" : "scaled per token",
                    r.get("importance_speedup_paper_protocol").asDouble()));
        }
        sb.append(String.format(Locale.ROOT, "| importance_storage_ratio (F32) / _f16 | %.3f / %.3f | ≤ 0.15 |%n",
                r.get("importance_storage_ratio").asDouble(), r.get("importance_storage_ratio_f16").asDouble()));
        sb.append(String.format(Locale.ROOT, "| import_gb_per_s | %.2f | ≥ 0.5 |%n", r.get("import_gb_per_s").asDouble()));
        sb.append(String.format(Locale.ROOT, "| peak_rss_mb | %d | |%n", r.get("peak_rss_mb").asLong()));
        if (r.has("peers")) {
            for (String[] k : new String[][]{{"torch", "speed_ratio_vs_torch", "PyTorch"}, {"djl_libtorch", "speed_ratio_vs_libtorch", "libtorch (DJL)"}}) {
                JsonNode peer = r.get("peers").path(k[0]);
                String v;
                if (r.has(k[1])) {
                    v = String.format(Locale.ROOT, "%.2f (peer %.3f s/step, ours %.3f)", r.get(k[1]).asDouble(),
                            peer.get("median_step_s").asDouble(), r.get("peers").get("ours_median_step_s").asDouble());
                } else {
                    v = peer.has("absent") ? "absent: " + peer.get("absent").asText()
                            : peer.has("error") ? "error: " + peer.get("error").asText() : "–";
                }
                sb.append(String.format(Locale.ROOT, "| %s (peer step ÷ ours, ≥ 1: ours faster; %s) | %s | |%n", k[1], k[2], v.replace('|', '/')));
            }
        }
        if (r.has("thread_settings")) {
            sb.append("\n| thread setting | tiny-llama step s | d512 × 8 step s |\n|---|---:|---:|\n");
            for (var row : r.get("thread_settings")) {
                sb.append(String.format(Locale.ROOT, "| %s | %s | %s |%n", row.get("setting").asText(),
                        row.has("tiny_step_s") ? String.format(Locale.ROOT, "%.3f", row.get("tiny_step_s").asDouble()) : row.path("error").asText("–"),
                        row.has("large_step_s") ? String.format(Locale.ROOT, "%.3f", row.get("large_step_s").asDouble()) : "–"));
            }
        }
        sb.append(Scaling.table(r.get("scaling")));
        return sb.toString();
    }
}
