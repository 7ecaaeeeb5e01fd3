package org.silora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.demo.Pretraining;
import org.silora.demo.ShippedModels;
import org.silora.ewc.FisherEstimator;
import org.silora.ewc.FisherInformation;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.RopeScaling;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.graph.LinearModule;
import org.silora.hf.graph.Weights;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TokenBatch;
import org.silora.lora.TrainingOptions;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.SiMode;
import org.silora.si.SiRecorder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * The benchmark suite of SPEC §6, measured in one run on one machine, reported as ratios where the machine
 * matters: {@code gemm_gflops} (ND4J sgemm peak of this run), {@code train_tokens_per_s} and {@code mfu} of LoRA
 * training, {@code si_overhead}, {@code importance_speedup} (EWC Fisher ÷ ν with SI over the same samples),
 * {@code importance_storage_ratio}, {@code import_gb_per_s} and {@code peak_rss_mb}. Each timing is a min and a
 * median over repeats after warm-up. Besides: {@code importance_speedup_paper_protocol} (the same comparison at the
 * paper's 20 000 Fisher samples against 2 000 documents × 5 epochs of 800 tokens, {@link PaperProtocol}), the scaling
 * curves of a LoRA step against sequence length and width ({@code scaling}, {@link Scaling}), and the peers' figures
 * when they are on the machine ({@code peers}, {@code speed_ratio_vs_torch}, {@link Peers}).
 *
 * <pre>{@code
 * ObjectNode json = Bench.run(Bench.Options.standard(), Path.of("silora-out/bench"), System.err, jvm);
 * }</pre>
 */
public final class Bench {

    /**
     * @param repeats       timed repeats of each measurement (after warm-up)
     * @param warmup        untimed warm-up steps (SameDiff's array cache fills during the first steps)
     * @param batch         rows per training step
     * @param seqLen        tokens per row
     * @param samples       general samples for the Fisher vs SI comparison
     * @param importBytes   approximate size of the checkpoint written for the import measurement
     * @param largeModel    also measure the synthetic LLaMA (d 512, 8 layers)
     * @param scaling       also measure the scaling curves ({@link Scaling}: about 2–3 minutes on 2 cores)
     * @param importanceAt800 also measure the per-sample Fisher and ν costs at the paper's 800 tokens (about 30 s);
     *                      otherwise {@code importance_speedup_paper_protocol} scales the bench's costs per token
     * @param peers         where the peers are and whether to run them (after the d 512 headline)
     */
    public record Options(int repeats, int warmup, int batch, int seqLen, int samples, long importBytes, boolean largeModel,
                          boolean scaling, boolean importanceAt800, Peers.Setup peers) {
        /** Without scaling curves, without the measurement at 800 tokens, without peers. */
        public Options(int repeats, int warmup, int batch, int seqLen, int samples, long importBytes, boolean largeModel) {
            this(repeats, warmup, batch, seqLen, samples, importBytes, largeModel, false, false, Peers.Setup.none("not requested"));
        }

        public static Options standard() {
            return new Options(5, 5, 8, 128, 64, 300L << 20, true, true, true, Peers.Setup.defaults(null));
        }

        public static Options quick() {
            return new Options(3, 3, 8, 64, 32, 64L << 20, false, false, false,
                    Peers.Setup.none("--quick: no d512 x 8 measurement to compare with"));
        }

        public Options withWarmup(int w) {
            return new Options(repeats, w, batch, seqLen, samples, importBytes, largeModel, scaling, importanceAt800, peers);
        }

        public Options withScaling(boolean s) {
            return new Options(repeats, warmup, batch, seqLen, samples, importBytes, largeModel, s, importanceAt800, peers);
        }

        public Options withPeers(Peers.Setup p) {
            return new Options(repeats, warmup, batch, seqLen, samples, importBytes, largeModel, scaling, importanceAt800, p);
        }

        /** The same options with another step shape (rows × tokens per row). */
        Options withShape(int rows, int tokens) {
            return new Options(repeats, warmup, rows, tokens, samples, importBytes, largeModel, scaling, importanceAt800, peers);
        }
    }

    /** Min and median of a set of timings in seconds. */
    record Stat(double min, double median, int n) {
        static Stat of(List<Double> xs) {
            double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return new Stat(a[0], a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2, a.length);
        }

        ObjectNode json(ObjectMapper om) {
            ObjectNode o = om.createObjectNode();
            o.put("min_s", min);
            o.put("median_s", median);
            o.put("n", n);
            return o;
        }
    }

    private Bench() {
    }

    public static ObjectNode run(Options opt, Path work, PrintStream log, Jvm jvm) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.set("machine", machine(om));
        Files.createDirectories(work);
        Laps laps = new Laps(om);   // wall seconds of each section: what each part of the bench costs

        // 1. sgemm peak
        log.println("bench: sgemm peak");
        ObjectNode gemm = root.putObject("gemm");
        double peak = 0;
        for (int n : new int[]{256, 512, 1024, 2048}) {
            INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
            INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
            INDArray c = Nd4j.create(DataType.FLOAT, n, n);
            int reps = n >= 2048 ? 3 : 8;
            Stat s = time(2, reps, () -> {
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
                return null;
            });
            double gf = 2.0 * n * n * n / s.min() / 1e9;
            gemm.put(Integer.toString(n), gf);
            peak = Math.max(peak, gf);
        }
        root.put("gemm_gflops", peak);
        laps.lap("gemm");

        // 2. LoRA training throughput and MFU
        Subject tinyModel = Subject.tiny(work);
        Path llamaDir = tinyModel.dir();
        ArrayNode train = root.putArray("train");
        ObjectNode tiny = trainThroughput(om, tinyModel, opt, peak, log);
        train.add(tiny);
        root.put("train_tokens_per_s_tiny", tiny.get("train_tokens_per_s").asDouble());
        root.put("mfu_tiny", tiny.get("mfu").asDouble());
        ObjectNode headline = tiny;
        ObjectNode peers = om.createObjectNode();
        if (opt.largeModel()) {
            ObjectNode b = trainThroughput(om, Subject.large(), opt, peak, log);
            train.add(b);
            root.put("mfu_large", b.get("mfu").asDouble());
            headline = b;   // the LLM-shaped model; the tiny one (d 192) measures per-op dispatch more than matmuls
            laps.lap("train");
            // 2a. the peers (the same d512 x 8 LoRA step in PyTorch / libtorch), right after ours, when on the machine
            peers = peers(om, opt, b.get("step").get("median_s").asDouble(), work, log);
            laps.lap("peers");
        } else {
            laps.lap("train");
            String why = opt.peers().skip() != null ? opt.peers().skip() : "no d512 x 8 measurement in this run to compare with";
            peers.set("torch", Peers.absent(om, why));
            peers.set("djl_libtorch", Peers.absent(om, why));
        }
        root.set("peers", peers);
        for (String k : List.of("speed_ratio_vs_torch", "speed_ratio_vs_libtorch")) {
            if (peers.has(k)) root.put(k, peers.get(k).asDouble());
        }
        root.put("train_tokens_per_s", headline.get("train_tokens_per_s").asDouble());
        root.put("mfu", headline.get("mfu").asDouble());
        root.put("mfu_model", headline.get("model").asText());

        // 2b. thread settings side by side (child JVMs)
        root.set("thread_settings", threadComparison(om, opt, work, log, jvm));
        laps.lap("thread_settings");

        // 3. SI overhead (interleaved with and without recording, same model and batches)
        log.println("bench: SI overhead");
        ObjectNode si = root.putObject("si_overhead_detail");
        for (SiMode mode : SiMode.values()) {
            double[] r = siOverhead(tinyModel, mode, opt);
            si.put(mode.name().toLowerCase(Locale.ROOT), r[1] / r[0]);
            si.put(mode.name().toLowerCase(Locale.ROOT) + "_step_s", r[1]);
            si.put(mode.name().toLowerCase(Locale.ROOT) + "_without_step_s", r[0]);
        }
        root.put("si_overhead", si.get("paper").asDouble());          // the default mode
        root.put("si_overhead_exact", si.get("exact").asDouble());
        if (opt.largeModel()) {
            // at the headline size and at LLaMA-3.2-1B's layer shape (two such layers, 2 x 128 tokens)
            for (Object[] sub : new Object[][]{{Subject.large(), "d512", opt}, {Subject.oneBLayers(), "1b_layers", opt.withShape(2, 128)}}) {
                Subject subject = (Subject) sub[0];
                log.println("bench: SI overhead, " + subject.name());
                ObjectNode at = si.putObject((String) sub[1]);
                at.put("model", subject.name());
                for (SiMode mode : SiMode.values()) {
                    double[] r = siOverhead(subject, mode, (Options) sub[2]);
                    String m = mode.name().toLowerCase(Locale.ROOT);
                    at.put(m, r[1] / r[0]);
                    at.put(m + "_step_s", r[1]);
                    at.put(m + "_without_step_s", r[0]);
                }
                root.put("si_overhead_" + sub[1], at.get("paper").asDouble());
                root.put("si_overhead_exact_" + sub[1], at.get("exact").asDouble());
            }
        }
        laps.lap("si_overhead");

        // 4. importance: EWC Fisher vs ν with SI over the same N samples, and storage
        log.println("bench: importance cost");
        ObjectNode imp = root.putObject("importance");
        List<int[]> rows = syntheticRows(ModelConfigs.load(llamaDir).vocabSize(), opt.samples(), opt.seqLen(), 3);
        double fisherSeconds;
        double fisherBatchedSeconds;
        FisherInformation fisher;
        try (FisherEstimator fe = FisherEstimator.of(llamaDir)) {
            // EWC's per-sample Fisher as its reference implementations compute it: one backward pass per sample
            fe.compute(rows.subList(0, 4), 1, (d, t) -> { });   // warm-up
            long t0 = System.nanoTime();
            fisher = fe.compute(rows, 1, (d, t) -> { });
            fisherSeconds = (System.nanoTime() - t0) / 1e9;
            // the same per-sample Fisher from batched passes (δ_sᵀ·x_s per sample), as `silora fisher` runs it
            fe.compute(rows.subList(0, Math.min(opt.batch(), rows.size())), opt.batch(), (d, t) -> { });   // warm-up
            long t1 = System.nanoTime();
            fe.compute(rows, opt.batch(), (d, t) -> { });
            fisherBatchedSeconds = (System.nanoTime() - t1) / 1e9;
        }
        LoraModel nuModel = LoraModel.create(llamaDir, LoraConfig.builder().build(), 1);
        LoraTrainer nu = new LoraTrainer(nuModel, TrainingOptions.builder().batchSize(opt.batch()).epochs(1).build());
        SiRecorder rec = SiRecorder.builder(nuModel).build();
        nu.addListener(rec);
        nu.step(List.of(new TokenBatch(rows.subList(0, opt.batch()))));   // warm-up
        long t0 = System.nanoTime();
        nu.train(rows, LoraTrainer.Progress.NONE);
        Importance omega = rec.consolidate(LayerWeighting.AUTO, Map.of());
        double siSeconds = (System.nanoTime() - t0) / 1e9;
        nuModel.lm().close();
        imp.put("samples", rows.size());
        imp.put("fisher_seconds", fisherSeconds);
        imp.put("fisher_method", "one backward pass per sample (EWC reference implementations)");
        imp.put("fisher_batched_seconds", fisherBatchedSeconds);
        imp.put("fisher_batched_method", "per-sample gradients as delta_s^T x_s from batched passes of " + opt.batch());
        imp.put("si_nu_seconds", siSeconds);
        imp.put("si_nu_batch", opt.batch());
        root.put("importance_speedup", fisherSeconds / siSeconds);
        root.put("importance_speedup_batched", fisherBatchedSeconds / siSeconds);
        // 4b. the same at the paper's protocol: 20000 Fisher samples against 2000 documents x 5 epochs, 800 tokens each.
        // The protocol gives EWC twice the sample-passes of SI's nu phase, so this is about 2 x importance_speedup
        // (exactly 2 x when scaled per token; 2 x the per-sample ratio at 800 tokens when measured there).
        laps.lap("importance");
        PaperProtocol.Measured at800 = null;
        if (opt.importanceAt800()) {
            log.println("bench: importance cost at " + PaperProtocol.PAPER_TOKENS + " tokens (paper protocol)");
            at800 = importanceAt800(llamaDir, opt);
            laps.lap("importance_at_800");
        }
        ObjectNode paper = PaperProtocol.json(om, fisherSeconds / rows.size(), siSeconds / rows.size(), opt.seqLen(), at800);
        root.set("importance_paper_protocol", paper);
        root.put("importance_speedup_paper_protocol", paper.get("speedup").asDouble());
        long fisherBytes = fisher.valueBytes(DType.F32);
        imp.put("fisher_bytes", fisherBytes);
        imp.put("omega_bytes_f32", omega.omegaBytes(DType.F32));
        imp.put("omega_bytes_f16", omega.omegaBytes(DType.F16));
        root.put("importance_storage_ratio", (double) omega.omegaBytes(DType.F32) / fisherBytes);   // both F32
        root.put("importance_storage_ratio_f16", (double) omega.omegaBytes(DType.F16) / fisherBytes);

        // 5. import speed on a checkpoint written here
        log.println("bench: import speed");
        root.set("import", importSpeed(om, work.resolve("import-checkpoint"), opt, log));
        root.put("import_gb_per_s", root.get("import").get("read_gb_per_s").asDouble());
        laps.lap("import");

        root.put("peak_rss_mb", peakRssMb());   // before the scaling curves: their d2048 model would dominate it

        // 6. scaling curves (sequence length, width) of the LoRA step
        if (opt.scaling()) {
            log.println("bench: scaling curves");
            ObjectNode sc = Scaling.run(om, opt, peak, log);
            sc.put("peak_rss_mb_after", peakRssMb());
            root.set("scaling", sc);
            laps.lap("scaling");
        }
        root.set("section_seconds", laps.json());
        return root;
    }

    /** Wall seconds per section of the run, and the total. */
    private static final class Laps {
        private final ObjectNode o;
        private final long start = System.nanoTime();
        private long last = start;

        Laps(ObjectMapper om) {
            o = om.createObjectNode();
        }

        void lap(String section) {
            long now = System.nanoTime();
            o.put(section, (now - last) / 1e9);
            last = now;
        }

        ObjectNode json() {
            o.put("total", (System.nanoTime() - start) / 1e9);
            return o;
        }
    }

    /**
     * Per-sample costs at the paper's 800 tokens on the importance section's model: EWC's Fisher, one backward per
     * sample (8 samples after 2 warm-up ones), and ν training with SI recording at the bench's batch (2 steps after
     * one warm-up step, then consolidation, as {@code si_nu_seconds} is timed).
     */
    private static PaperProtocol.Measured importanceAt800(Path llamaDir, Options opt) {
        int vocab = ModelConfigs.load(llamaDir).vocabSize();
        int nFisher = 8;
        int nSi = 2 * opt.batch();
        List<int[]> rows = syntheticRows(vocab, nFisher + 2, PaperProtocol.PAPER_TOKENS, 13);
        double fisherSeconds;
        try (FisherEstimator fe = FisherEstimator.of(llamaDir)) {
            fe.compute(rows.subList(nFisher, nFisher + 2), 1, (d, t) -> { });   // warm-up
            long t0 = System.nanoTime();
            fe.compute(rows.subList(0, nFisher), 1, (d, t) -> { });
            fisherSeconds = (System.nanoTime() - t0) / 1e9;
        }
        List<int[]> siRows = syntheticRows(vocab, nSi + opt.batch(), PaperProtocol.PAPER_TOKENS, 17);
        LoraModel m = LoraModel.create(llamaDir, LoraConfig.builder().build(), 1);
        try {
            LoraTrainer nu = new LoraTrainer(m, TrainingOptions.builder().batchSize(opt.batch()).epochs(1).build());
            SiRecorder rec = SiRecorder.builder(m).build();
            nu.addListener(rec);
            nu.step(List.of(new TokenBatch(siRows.subList(nSi, nSi + opt.batch()))));   // warm-up
            long t0 = System.nanoTime();
            nu.train(siRows.subList(0, nSi), LoraTrainer.Progress.NONE);
            rec.consolidate(LayerWeighting.AUTO, Map.of());
            double siSeconds = (System.nanoTime() - t0) / 1e9;
            return new PaperProtocol.Measured(nFisher, fisherSeconds, nSi, siSeconds);
        } finally {
            m.lm().close();
        }
    }

    /**
     * The peers' figures beside ours: {@code torch} and {@code djl_libtorch} (each its JSON line, or {@code absent} /
     * {@code error}), and {@code speed_ratio_vs_torch} / {@code speed_ratio_vs_libtorch} = the peer's median step ÷
     * ours (≥ 1: ours is faster) when the peer ran and the step is the peers' 8 × 128 tokens.
     */
    static ObjectNode peers(ObjectMapper om, Options opt, double ourMedianStepSeconds, Path work, PrintStream log) {
        ObjectNode p = om.createObjectNode();
        ObjectNode torch = Peers.torch(opt.peers(), work, log);
        ObjectNode djl = Peers.djl(opt.peers(), work, log);
        p.set("torch", torch);
        p.set("djl_libtorch", djl);
        p.put("ours_median_step_s", ourMedianStepSeconds);
        boolean sameStep = opt.batch() == 8 && opt.seqLen() == 128;   // the peers' fixed step
        if (!sameStep) {
            p.put("note", "no speed ratio: this run's step is " + opt.batch() + " x " + opt.seqLen() + " tokens, the peers' 8 x 128");
            return p;
        }
        Double rt = Peers.speedRatio(torch, ourMedianStepSeconds);
        if (rt != null) p.put("speed_ratio_vs_torch", rt);
        Double rd = Peers.speedRatio(djl, ourMedianStepSeconds);
        if (rd != null) p.put("speed_ratio_vs_libtorch", rd);
        return p;
    }

    /** A model the bench trains: the shipped tiny LLaMA, or the synthetic d512 × 8 one from random weights. */
    record Subject(String name, ModelConfig config, Map<String, INDArray> weights, Path dir) {
        static Subject tiny(Path work) throws IOException {
            Path dir = ShippedModels.extract("tiny-llama", work.resolve("models"));
            return new Subject("tiny-llama (shipped)", ModelConfigs.load(dir), null, dir);
        }

        static Subject large() {
            LlamaConfig big = largeConfig();
            return new Subject("synthetic LLaMA d512 x 8 layers", big, Pretraining.initialWeights(big, 1), null);
        }

        /** Two layers of LLaMA-3.2-1B's shape (hidden 2048, MLP 8192, 32 query and 8 key/value heads), vocabulary 4096. */
        static Subject oneBLayers() {
            LlamaConfig c = new LlamaConfig(4096, 2048, 8192, 2, 32, 8, 64, 1e-5, 500000.0, RopeScaling.NONE, 4096, true, false, false);
            return new Subject("2 layers of LLaMA-3.2-1B's shape", c, Pretraining.initialWeights(c, 1), null);
        }
    }

    /** A fresh LoRA model of a subject (peft defaults: r 8 on q/v), its trainer and one synthetic batch to step on. */
    record Rig(LoraModel model, LoraTrainer trainer, TokenBatch batch) implements AutoCloseable {
        static Rig of(Subject s, Options opt, long dataSeed) {
            return of(s, opt, dataSeed, TrainingOptions.Engine.AUTO);
        }

        static Rig of(Subject s, Options opt, long dataSeed, TrainingOptions.Engine engine) {
            LoraConfig lc = LoraConfig.builder().build();
            LoraModel m = s.dir() != null ? LoraModel.create(s.dir(), lc, 1) : LoraModel.create(s.config(), Weights.of(s.weights()), lc, 1);
            LoraTrainer t = new LoraTrainer(m, TrainingOptions.builder().batchSize(opt.batch()).engine(engine).build());
            return new Rig(m, t, new TokenBatch(syntheticRows(s.config().vocabSize(), opt.batch(), opt.seqLen() + 1, dataSeed)));
        }

        double[] step() {
            return trainer.step(List.of(batch));
        }

        @Override
        public void close() {
            model.lm().close();
        }
    }

    private static ObjectNode trainThroughput(ObjectMapper om, Subject subject, Options opt, double peak, PrintStream log) {
        log.println("bench: LoRA training, " + subject.name());
        ObjectNode o = om.createObjectNode();
        double median;
        try (Rig rig = Rig.of(subject, opt, 7)) {
            LoraModel m = rig.model();
            Stat s = time(opt.warmup(), opt.repeats(), rig::step);
            median = s.median();
            long tokens = rig.batch().predictedTokens();
            double flops = loraStepFlops(m, opt.batch(), opt.seqLen());
            o.put("model", subject.name());
            o.put("engine", rig.trainer().engineName());
            o.put("parameters", m.lm().config().vocabSize() * (long) subject.config().hiddenSize() + m.lm().graph().linears().values().stream()
                    .filter(l -> !l.name().equals("lm_head")).mapToLong(l -> (long) l.in() * l.out()).sum());
            o.put("tokens_per_step", tokens);
            o.set("step", s.json(om));
            o.put("train_tokens_per_s", tokens / s.median());
            o.put("model_gflop_per_step", flops / 1e9);
            o.put("mfu", flops / s.median() / (peak * 1e9));
        }
        if ("direct".equals(o.get("engine").asText())) {
            // the same step through SameDiff's gradient pass, side by side (fewer repeats: it is the slower one)
            log.println("bench: LoRA training through SameDiff, " + subject.name());
            try (Rig rig = Rig.of(subject, opt, 7, TrainingOptions.Engine.SAMEDIFF)) {
                Stat s = time(Math.max(2, opt.warmup() / 4), Math.max(3, opt.repeats() / 2), rig::step);
                o.set("samediff_step", s.json(om));
                o.put("speedup_vs_samediff", s.median() / median);
            }
        }
        return o;
    }

    /**
     * Model FLOPs of one LoRA step: the forward pass (2·tokens·in·out per linear module, the LoRA path, attention's
     * two T×T products) plus the backward that training the factors needs (activation gradients through every
     * matmul, the factors' own gradients; no gradients of frozen weights).
     */
    static double loraStepFlops(LoraModel m, int batch, int seq) {
        double n = (double) batch * seq;
        double fwd = 0;
        for (LinearModule l : m.lm().graph().linears().values()) fwd += 2 * n * l.in() * l.out();
        int r = m.config().r();
        double lora = 0;
        for (var mod : m.modules().values()) lora += 2 * n * r * (mod.base().in() + mod.base().out());
        ModelConfig c = m.lm().config();
        double attn = 2.0 * 2 * batch * c.numHeads() * (double) seq * seq * c.headDim() * c.numLayers();
        // backward: activation gradients = one more matmul per forward matmul; attention needs both operands' gradients;
        // LoRA factors: activation and weight gradients
        return (fwd + attn + lora) + (fwd + 2 * attn + 2 * lora);
    }

    /**
     * Per-op profile of LoRA training steps on the shipped tiny LLaMA and (unless {@code quick}) the synthetic d512 × 8
     * model: time per op type, time between ops (SameDiff's bookkeeping) and time outside SameDiff (the trainer's
     * optimizer and listeners), as JSON, with Markdown tables written to {@code log}.
     */
    public static ObjectNode profile(Options opt, Path work, PrintStream log) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.set("machine", machine(om));
        ArrayNode arr = root.putArray("profiles");
        arr.add(profileOne(om, Subject.tiny(work), opt, log));
        if (opt.largeModel()) arr.add(profileOne(om, Subject.large(), opt, log));
        return root;
    }

    /**
     * Median LoRA step time of the shipped tiny LLaMA (and, with {@code large}, the synthetic d512 × 8 model) under
     * this JVM's thread settings: what {@link #threadSettings} runs in child JVMs.
     */
    public static ObjectNode stepTimes(Options opt, Path work, boolean large) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("tiny_step_s", stepTime(Subject.tiny(work), opt));
        if (large) o.put("large_step_s", stepTime(Subject.large(), opt));
        return o;
    }

    private static double stepTime(Subject subject, Options opt) {
        try (Rig rig = Rig.of(subject, opt, 7)) {
            return time(opt.warmup(), opt.repeats(), rig::step).median();
        }
    }

    /** Thread settings measured side by side, each in its own JVM (OpenMP and OpenBLAS read them at load time). */
    record ThreadSetting(String name, Map<String, String> env) {
    }

    static List<ThreadSetting> threadSettings() {
        String cores = Integer.toString(Runtime.getRuntime().availableProcessors());
        return List.of(
                new ThreadSetting("ND4J defaults (busy-waiting OpenMP, spinning OpenBLAS)", Map.of("OMP_NUM_THREADS", cores)),
                new ThreadSetting("OMP_WAIT_POLICY=PASSIVE", Map.of("OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", cores)),
                new ThreadSetting("PASSIVE + OPENBLAS_THREAD_TIMEOUT=4 (the CLI's default)",
                        Map.of("OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", cores, "OPENBLAS_THREAD_TIMEOUT", "4")),
                new ThreadSetting("1 OpenMP thread, PASSIVE, OPENBLAS_THREAD_TIMEOUT=4",
                        Map.of("OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", "1", "OPENBLAS_THREAD_TIMEOUT", "4")));
    }

    private static ArrayNode threadComparison(ObjectMapper om, Options opt, Path work, PrintStream log, Jvm jvm) {
        ArrayNode out = om.createArrayNode();
        for (ThreadSetting ts : threadSettings()) {
            log.println("bench: thread settings, " + ts.name());
            List<String> args = new ArrayList<>(List.of("bench", "--step-times", "--out", work.toString()));
            if (!opt.largeModel()) args.add("--quick");
            List<String> cmd = jvm.command(args);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
            for (String k : List.of("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT")) pb.environment().remove(k);
            pb.environment().putAll(ts.env());
            pb.environment().put("SILORA_THREADS_SET", "1");   // no relaunch: measure exactly these settings
            ObjectNode row = out.addObject();
            row.put("setting", ts.name());
            row.set("env", om.valueToTree(ts.env()));
            try {
                Process p = pb.start();
                String stdout = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
                if (p.waitFor() != 0) throw new IOException("exit " + p.exitValue());
                String last = stdout.substring(stdout.lastIndexOf('\n') + 1);
                row.setAll((ObjectNode) om.readTree(last));
            } catch (IOException | InterruptedException | RuntimeException e) {
                row.put("error", String.valueOf(e.getMessage()));
            }
        }
        return out;
    }

    static LlamaConfig largeConfig() {
        return new LlamaConfig(4096, 512, 1376, 8, 8, 8, 64, 1e-5, 10000.0, null, 2048, false, false, false);
    }

    private static ObjectNode profileOne(ObjectMapper om, Subject subject, Options opt, PrintStream log) {
        ObjectNode o = om.createObjectNode();
        o.put("model", subject.name());
        o.set("direct", profileDirect(om, subject, opt, log));
        o.set("samediff", profileSameDiff(om, subject, opt, log));
        return o;
    }

    /** Where the direct engine's step goes, per phase (products, attention, norms, activation, rotary, loss). */
    private static ObjectNode profileDirect(ObjectMapper om, Subject subject, Options opt, PrintStream log) {
        double total;
        Map<String, double[]> phases;
        try (Rig rig = Rig.of(subject, opt, 7, TrainingOptions.Engine.DIRECT)) {
            for (int i = 0; i < opt.warmup(); i++) rig.step();
            rig.trainer().profilePhases(true);
            long t0 = System.nanoTime();
            for (int i = 0; i < opt.repeats(); i++) rig.step();
            total = (System.nanoTime() - t0) / 1e9;
            phases = rig.trainer().stepPhases();
            rig.trainer().profilePhases(false);
        }
        int n = opt.repeats();
        ObjectNode o = om.createObjectNode();
        o.put("engine", "direct");
        o.put("steps", n);
        o.put("step_s", total / n);
        double inPhases = 0;
        ArrayNode arr = o.putArray("phases");
        StringBuilder table = new StringBuilder("| phase | calls | ms | share |\n|---|---:|---:|---:|\n");
        for (Map.Entry<String, double[]> e : phases.entrySet()) {
            double sec = e.getValue()[0] / n;
            inPhases += sec;
            ObjectNode x = arr.addObject();
            x.put("phase", e.getKey());
            x.put("calls_per_step", e.getValue()[1] / n);
            x.put("s_per_step", sec);
            table.append(String.format(Locale.ROOT, "| %s | %.0f | %.1f | %.1f %% |%n", e.getKey(), e.getValue()[1] / n, sec * 1e3, 100 * sec / (total / n)));
        }
        double rest = total / n - inPhases;
        o.put("outside_phases_s", rest);
        table.append(String.format(Locale.ROOT, "| (optimizer, listeners, batch) | | %.1f | %.1f %% |%n", rest * 1e3, 100 * rest / (total / n)));
        log.printf(Locale.ROOT, "%n%s, direct engine: %.3f s/step%n", subject.name(), total / n);
        log.print(table);
        return o;
    }

    /** Where SameDiff's step goes, per op type and per (op, input shapes), and between ops. */
    private static ObjectNode profileSameDiff(ObjectMapper om, Subject subject, Options opt, PrintStream log) {
        String name = subject.name();
        OpProfiler p = new OpProfiler();
        double total;
        try (Rig rig = Rig.of(subject, opt, 7, TrainingOptions.Engine.SAMEDIFF)) {
            rig.model().lm().sameDiff().addListeners(p);
            for (int i = 0; i < opt.warmup(); i++) {
                rig.step();
                p.stepDone();
            }
            p.reset();
            long t0 = System.nanoTime();
            for (int i = 0; i < opt.repeats(); i++) {
                rig.step();
                p.stepDone();
            }
            total = (System.nanoTime() - t0) / 1e9;
        }
        ObjectNode o = om.createObjectNode();
        o.put("engine", "samediff");
        o.put("steps", opt.repeats());
        o.put("step_s", total / opt.repeats());
        o.put("ops_s", p.opSeconds() / opt.repeats());
        o.put("between_ops_s", p.gapSeconds() / opt.repeats());
        o.put("outside_samediff_s", (total - p.opSeconds() - p.gapSeconds()) / opt.repeats());
        ArrayNode ops = o.putArray("ops");
        for (OpProfiler.Entry e : p.entries()) {
            ObjectNode x = ops.addObject();
            x.put("op", e.op());
            x.put("calls_per_step", e.calls() / (double) opt.repeats());
            x.put("s_per_step", e.nanos() / 1e9 / opt.repeats());
            x.put("largest_output", e.example());
        }
        log.printf(Locale.ROOT, "%n%s, SameDiff engine: %.3f s/step (ops %.3f, between ops %.3f, outside SameDiff %.3f)%n", name,
                total / opt.repeats(), p.opSeconds() / opt.repeats(), p.gapSeconds() / opt.repeats(),
                (total - p.opSeconds() - p.gapSeconds()) / opt.repeats());
        log.print(p.table(25));
        log.print(p.detailTable(20));
        return o;
    }

    private static double[] siOverhead(Subject subject, SiMode mode, Options opt) {
        try (Rig a = Rig.of(subject, opt, 5); Rig b = Rig.of(subject, opt, 5)) {
            b.trainer().addListener(SiRecorder.builder(b.model()).mode(mode).build());
            for (int i = 0; i < opt.warmup(); i++) {
                a.step();
                b.step();
            }
            List<Double> ta = new ArrayList<>();
            List<Double> tb = new ArrayList<>();
            for (int i = 0; i < opt.repeats() * 2; i++) {
                long t0 = System.nanoTime();
                a.step();
                long t1 = System.nanoTime();
                b.step();
                long t2 = System.nanoTime();
                ta.add((t1 - t0) / 1e9);
                tb.add((t2 - t1) / 1e9);
            }
            return new double[]{Stat.of(ta).median(), Stat.of(tb).median()};
        }
    }

    private static ObjectNode importSpeed(ObjectMapper om, Path dir, Options opt, PrintStream log) throws IOException {
        // a LLaMA-shaped checkpoint of about opt.importBytes in BF16
        int hidden = 1024;
        int layers = Math.max(1, (int) (opt.importBytes() / 2 / (12L * hidden * hidden)));
        LlamaConfig cfg = new LlamaConfig(8192, hidden, 2752, layers, 16, 8, 64, 1e-5, 10000.0, null, 2048, false, false, false);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), ModelConfigs.toJson(cfg));
        Map<String, INDArray> w = Pretraining.initialWeights(cfg, 3);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("format", "pt"), w, DType.BF16);
        w.clear();
        long bytes = Files.size(dir.resolve("model.safetensors"));
        List<Double> read = new ArrayList<>();
        List<Double> full = new ArrayList<>();
        for (int i = 0; i < opt.repeats(); i++) {
            long t0 = System.nanoTime();
            try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir)) {
                for (String n : ck.names()) ck.readFloat(n);
            }
            read.add((System.nanoTime() - t0) / 1e9);
            long t1 = System.nanoTime();
            try (CausalLm lm = CausalLm.load(dir)) {
                full.add((System.nanoTime() - t1) / 1e9);
            }
            System.gc();
        }
        Stat r = Stat.of(read);
        Stat f = Stat.of(full);
        ObjectNode o = om.createObjectNode();
        o.put("file_bytes", bytes);
        o.put("dtype", "BF16");
        o.set("read_all_tensors", r.json(om));
        o.set("graph_import", f.json(om));
        o.put("read_gb_per_s", bytes / r.median() / 1e9);
        o.put("graph_import_gb_per_s", bytes / f.median() / 1e9);
        Files.deleteIfExists(dir.resolve("model.safetensors"));
        return o;
    }

    static List<int[]> syntheticRows(int vocab, int n, int len, long seed) {
        Random rnd = new Random(seed);
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] r = new int[len];
            for (int j = 0; j < len; j++) r[j] = rnd.nextInt(vocab);
            rows.add(r);
        }
        return rows;
    }

    static Stat time(int warmup, int repeats, Supplier<?> work) {
        for (int i = 0; i < warmup; i++) work.get();
        List<Double> ts = new ArrayList<>();
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime();
            work.get();
            ts.add((System.nanoTime() - t0) / 1e9);
        }
        return Stat.of(ts);
    }

    static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D+", "")) / 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    static ObjectNode machine(ObjectMapper om) {
        ObjectNode m = om.createObjectNode();
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        try {
            Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
                    .ifPresent(l -> m.put("cpu", l.substring(l.indexOf(':') + 1).trim()));
            Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal")).findFirst()
                    .ifPresent(l -> m.put("memory_mb", Long.parseLong(l.replaceAll("\\D+", "")) / 1024));
        } catch (IOException | RuntimeException ignored) {
            // not Linux: leave them out
        }
        m.put("nd4j_backend", Nd4j.getBackend().getClass().getSimpleName());
        ObjectNode t = m.putObject("threads");
        t.put("OMP_WAIT_POLICY", String.valueOf(System.getenv("OMP_WAIT_POLICY")));
        t.put("OMP_NUM_THREADS", String.valueOf(System.getenv("OMP_NUM_THREADS")));
        t.put("blas_max_threads", Nd4j.factory().blas().getMaxThreads());
        t.put("nd4j_max_threads", Nd4j.getEnvironment().maxThreads());
        return m;
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
