package org.silora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.demo.Pretraining;
import org.silora.hf.config.LlamaConfig;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The bench's scaling curves: step time, tokens/s, achieved GFLOP/s and MFU of one LoRA training step (r 8 on
 * q_proj and v_proj, AdamW) against
 *
 * <ul>
 *   <li>{@code seq_len}: sequence length 128 … 2048 on the headline model (synthetic LLaMA d 512 × 8 layers), one row
 *       per step, so tokens per step grow with the length (the way one long document is trained);</li>
 *   <li>{@code width}: hidden size 256 … 2048 at 4 layers, 8 rows × 128 tokens, head_dim 64 (hidden / 64 heads, no
 *       GQA), SwiGLU intermediate 2.6875 × hidden as LLaMA's (512 → 1376, 4096 → 11008).</li>
 * </ul>
 *
 * <p>Each point is measured as {@link TrainThroughput} measures the headline: a {@code LoraTrainer} step on a
 * {@code LoraModel} built from random weights (Hugging Face's initialisation), so a change of the trainer's speed
 * shows here too. Model FLOPs per step are {@link TrainThroughput#loraStepFlops}; {@code time_ratio_vs_flop_ratio} is
 * {@code (t_i / t_0) / (F_i / F_0)} against the curve's first point: above 1 the cost grows faster than the FLOPs
 * (e.g. attention's T × T arrays outgrowing the caches), below 1 slower (fixed per-op costs amortised).
 *
 * <pre>{@code
 * ObjectNode s = Scaling.run(om, Bench.Options.standard(), peakGflops, System.err);
 * }</pre>
 */
public final class Scaling {

    /** Sequence lengths of the {@code seq_len} curve. */
    public static final List<Integer> SEQ_LENS = List.of(128, 256, 512, 1024, 2048);
    /** Hidden sizes of the {@code width} curve. */
    public static final List<Integer> WIDTHS = List.of(256, 512, 1024, 2048);
    static final int WIDTH_LAYERS = 4;
    static final int WIDTH_BATCH = 8;
    static final int WIDTH_SEQ = 128;
    static final int SEQ_BATCH = 1;
    /** Warm-up steps of each point (the array cache fills during the first steps of each shape). */
    static final int WARMUP = 2;
    /** Timed steps of a point are cut down to what fits in about this many seconds ... */
    static final double SECONDS_PER_POINT = 8.0;
    /** ... but never below this many (a median of 3 shrugs off one step disturbed by other work on the machine). */
    static final int MIN_REPEATS = 3;

    /** One measured point of a curve: its shape, model FLOPs per step and step timings. */
    record Point(int hidden, int layers, int intermediate, int heads, int batch, int seqLen, long tokensPerStep, double flops, Stat step) {
    }

    private Scaling() {
    }

    /** LLaMA's SwiGLU width: 2.6875 × hidden (= 43/16, the 8/3 rounded up as LLaMA-7B's 11008 for 4096), rounded. */
    static int intermediate(int hidden) {
        return (int) Math.round(hidden * 43 / 16.0);
    }

    /** The synthetic LLaMA of a width point: vocab 4096, head_dim 64, hidden / 64 heads, untied lm_head. */
    static LlamaConfig config(int hidden, int layers) {
        if (hidden % 64 != 0) throw new IllegalArgumentException("hidden size must be a multiple of head_dim 64: " + hidden);
        int heads = hidden / 64;
        return new LlamaConfig(4096, hidden, intermediate(hidden), layers, heads, heads, 64, 1e-5, 10000.0, null, 2048, false, false, false);
    }

    /** Both curves, measured: {@code {seq_len: [...], width: [...], ...}}. */
    static ObjectNode run(ObjectMapper om, Bench.Options opt, double peakGflops, PrintStream log) {
        ObjectNode o = om.createObjectNode();
        o.put("seq_len_setup", "synthetic LLaMA d512 x 8 layers (as the headline), LoRA r 8 q/v, " + SEQ_BATCH
                + " row per step: tokens per step = seq_len");
        o.put("width_setup", "synthetic LLaMA, " + WIDTH_LAYERS + " layers, head_dim 64, heads = hidden/64, intermediate = "
                + "2.6875 x hidden, LoRA r 8 q/v, " + WIDTH_BATCH + " x " + WIDTH_SEQ + " tokens per step");
        o.put("timing", "median over " + MIN_REPEATS + "..repeats timed steps (about " + (int) SECONDS_PER_POINT + " s per point) after "
                + WARMUP + " warm-up steps, each point a fresh model");
        o.put("peak_gflops", peakGflops);

        List<Point> seq = new ArrayList<>();
        Subject large = Subject.large();
        for (int len : SEQ_LENS) seq.add(measure(large, SEQ_BATCH, len, opt.repeats(), log, "seq_len " + len));
        o.set("seq_len", curveJson(om, seq, peakGflops));

        List<Point> width = new ArrayList<>();
        for (int h : WIDTHS) {
            LlamaConfig c = config(h, WIDTH_LAYERS);
            Map<String, INDArray> w = Pretraining.initialWeights(c, 1);
            Subject s = new Subject("synthetic LLaMA d" + h + " x " + WIDTH_LAYERS + " layers", c, w, null);
            width.add(measure(s, WIDTH_BATCH, WIDTH_SEQ, opt.repeats(), log, "width " + h));
            for (INDArray a : w.values()) if (a.closeable()) a.close();   // the model holds its own copies
        }
        o.set("width", curveJson(om, width, peakGflops));
        return o;
    }

    /** One point: {@link #WARMUP} warm-up steps, then about {@link #SECONDS_PER_POINT} s of timed steps, at most {@code maxRepeats}. */
    static Point measure(Subject s, int batch, int seq, int maxRepeats, PrintStream log, String label) {
        try (Rig rig = Rig.of(s, batch, seq, 11)) {
            double last = 0;
            for (int i = 0; i < WARMUP; i++) {
                long t0 = System.nanoTime();
                rig.step();
                last = (System.nanoTime() - t0) / 1e9;
            }
            int repeats = repeats(last, maxRepeats);
            Stat st = Stat.time(0, repeats, rig::step);
            LlamaConfig c = (LlamaConfig) s.config();
            Point p = new Point(c.hiddenSize(), c.numLayers(), c.intermediateSize(), c.numHeads(), batch, seq,
                    rig.batch().predictedTokens(), TrainThroughput.loraStepFlops(rig.model(), batch, seq), st);
            log.printf(Locale.ROOT, "bench: scaling %s (d%d x %d, %d x %d tokens): %.3f s/step, %.0f tokens/s%n", label,
                    p.hidden(), p.layers(), batch, seq, st.median(), p.tokensPerStep() / st.median());
            return p;
        }
    }

    /** Timed steps for a point whose last warm-up step took {@code warmStepSeconds}: about 8 s worth, 3 … max. */
    static int repeats(double warmStepSeconds, int max) {
        int n = warmStepSeconds <= 0 ? max : (int) Math.ceil(SECONDS_PER_POINT / warmStepSeconds);
        return Math.max(MIN_REPEATS, Math.min(Math.max(MIN_REPEATS, max), n));
    }

    /**
     * A curve as JSON: each point's shape, {@code model_gflop_per_step}, {@code step} (min/median/n),
     * {@code train_tokens_per_s}, {@code gflop_per_s}, {@code mfu} (against {@code peakGflops}), and, against the first
     * point, {@code flop_ratio}, {@code time_ratio} and {@code time_ratio_vs_flop_ratio}.
     */
    static ArrayNode curveJson(ObjectMapper om, List<Point> points, double peakGflops) {
        ArrayNode a = om.createArrayNode();
        if (points.isEmpty()) return a;
        Point first = points.get(0);
        for (Point p : points) {
            ObjectNode o = a.addObject();
            o.put("hidden_size", p.hidden());
            o.put("layers", p.layers());
            o.put("intermediate_size", p.intermediate());
            o.put("heads", p.heads());
            o.put("batch", p.batch());
            o.put("seq_len", p.seqLen());
            o.put("tokens_per_step", p.tokensPerStep());
            o.put("model_gflop_per_step", p.flops() / 1e9);
            o.set("step", p.step().json(om));
            double t = p.step().median();
            o.put("train_tokens_per_s", p.tokensPerStep() / t);
            o.put("gflop_per_s", p.flops() / t / 1e9);
            if (peakGflops > 0) o.put("mfu", p.flops() / t / (peakGflops * 1e9));
            else o.putNull("mfu");
            double flopRatio = p.flops() / first.flops();
            double timeRatio = t / first.step().median();
            o.put("flop_ratio", flopRatio);
            o.put("time_ratio", timeRatio);
            o.put("time_ratio_vs_flop_ratio", timeRatio / flopRatio);
        }
        return a;
    }

    /** The curves of {@code scaling} as Markdown tables (empty when there are none). */
    static String table(JsonNode scaling) {
        if (scaling == null || !scaling.has("seq_len")) return "";
        StringBuilder sb = new StringBuilder();
        for (String curve : List.of("seq_len", "width")) {
            JsonNode pts = scaling.get(curve);
            if (pts == null || pts.isEmpty()) continue;
            sb.append(String.format(Locale.ROOT, "%nscaling, %s (%s)%n", curve, scaling.path(curve + "_setup").asText("")));
            sb.append("| d × layers | rows × seq | GFLOP/step | median step s | tokens/s | GFLOP/s | MFU | time ratio ÷ FLOP ratio |\n");
            sb.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
            for (JsonNode p : pts) {
                sb.append(String.format(Locale.ROOT, "| %d × %d | %d × %d | %.1f | %.3f | %.0f | %.1f | %.3f | %.2f |%n",
                        p.get("hidden_size").asInt(), p.get("layers").asInt(), p.get("batch").asInt(), p.get("seq_len").asInt(),
                        p.get("model_gflop_per_step").asDouble(), p.get("step").get("median_s").asDouble(),
                        p.get("train_tokens_per_s").asDouble(), p.get("gflop_per_s").asDouble(), p.get("mfu").asDouble(),
                        p.get("time_ratio_vs_flop_ratio").asDouble()));
            }
        }
        return sb.toString();
    }
}
