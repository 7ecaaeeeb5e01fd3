package org.silora.memory;

import org.nd4j.linalg.api.buffer.DataType;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.model.CausalLm;
import org.silora.lora.LoraConfig;
import org.silora.lora.TrainingOptions;
import org.silora.si.SiMode;
import org.silora.step.DirectGptjStep;
import org.silora.step.DirectLlamaStep;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Estimates the peak memory of a run from the model's configuration and the run's shape, before anything is loaded.
 *
 * <p>The model: weights (every tensor in its storage type: FLOAT, or 16 bits with norms and biases in FLOAT); the
 * arrays SameDiff holds at the peak of one pass, as counts of activation-sized arrays per layer, measured with
 * {@link org.silora.hf.model.StepMemory#peakLiveBytes()} on models of distinct widths and checked by
 * {@code MemoryPlannerTest} (training, LLaMA: 11.5 {@code [tokens, hidden]}, 8.5 {@code [tokens, heads·head_dim]},
 * 8.5 {@code [tokens, kv_heads·head_dim]}, 3 {@code [tokens, intermediate]} and 3 {@code [batch, heads, T, T]} per
 * layer; GPT-J: 27.5, 6 and 3; three {@code [tokens, vocab]} for the loss; 8 % for arrays pooled by shape); SI's ω
 * and scratch, the consolidated Ω, a penalty's weights; LoRA factors with Adam's moments; the JVM and native libraries.
 *
 * <pre>{@code
 * MemoryPlan p = MemoryPlanner.inference(cfg, DataType.BFLOAT16, 1, 128, "logits", MachineMemory.defaultBudget());
 * p.require("store the weights in 16 bits (--weights-dtype bf16)");
 * }</pre>
 */
public final class MemoryPlanner {

    /** The JVM (heap in use, metaspace, code) and ND4J's native libraries. */
    static final long RUNTIME = 450L << 20;
    /** Arrays pooled by shape beside those in use at the peak. */
    static final double POOL = 1.08;

    private MemoryPlanner() {
    }

    /** What SI or a penalty adds to a training run. */
    public enum Extra { NONE, SI_PAPER, SI_EXACT, PENALTY }

    /** The extra of an SI recording in {@code mode}. */
    public static Extra si(SiMode mode) {
        return mode == SiMode.EXACT ? Extra.SI_EXACT : Extra.SI_PAPER;
    }

    /** A forward-only run (logits, perplexity, multiple-choice scoring) of {@code batch} rows of {@code seqLen} tokens. */
    public static MemoryPlan inference(ModelConfig cfg, DataType storage, int batch, int seqLen, String run, long budget) {
        Shapes s = new Shapes(cfg, batch, seqLen);
        List<MemoryPlan.Part> parts = new ArrayList<>();
        parts.add(weights(cfg, storage));
        // the flat logits (held for the NLL, computed from them a block of rows at a time) and one layer's arrays;
        // logits also reshapes them to [B, T, vocab] and hands a copy back
        double fwd = forwardElements(s, run.equals("logits") ? 3.0 : 1.2);
        parts.add(new MemoryPlan.Part("forward arrays", (long) (4 * fwd * POOL), batch + " x " + seqLen + " tokens"));
        if (!run.equals("logits")) {
            // runs of many batches end with a shorter one: SameDiff's inference array cache keeps the arrays of the
            // earlier shape beside the new ones (GPT-J-6B eval, 4 x 512 then 3 x 512: 2 GB above the single pass)
            parts.add(new MemoryPlan.Part("array cache", (long) (4 * fwd * POOL), "arrays of a batch of another shape"));
        }
        if (storage != DataType.FLOAT) {
            parts.add(new MemoryPlan.Part("widened weights", 4 * s.widenedAtOnce, "FLOAT copies in use at once"));
        }
        parts.add(new MemoryPlan.Part("runtime", RUNTIME, "JVM and native libraries"));
        return new MemoryPlan(run, parts, budget);
    }

    /** Elements SameDiff's inference pass holds: {@code logitCopies} {@code [tokens, vocab]} arrays and one layer's. */
    private static double forwardElements(Shapes s, double logitCopies) {
        return logitCopies * s.nv + (s.gptj ? 10.0 * s.nd + 4.0 * s.nm : 4.0 * s.nd + 2.0 * s.nm) + 3.0 * s.scores;
    }

    /**
     * A LoRA training run: micro-batches of {@code batch} rows of {@code seqLen} tokens (gradient accumulation does not
     * add arrays, except EXACT SI's per-module gradient), with SI recording or a penalty as {@code extra}.
     */
    public static MemoryPlan training(ModelConfig cfg, LoraConfig lora, int batch, int seqLen, int gradAccum, Extra extra,
                                      String run, long budget) {
        return training(cfg, lora, batch, seqLen, gradAccum, extra, run, budget, TrainingOptions.Engine.AUTO);
    }

    /**
     * As {@link #training(ModelConfig, LoraConfig, int, int, int, Extra, String, long)} for the given engine ({@code AUTO}:
     * the direct step, as {@code LoraTrainer} chooses on the CPU backend).
     */
    public static MemoryPlan training(ModelConfig cfg, LoraConfig lora, int batch, int seqLen, int gradAccum, Extra extra,
                                      String run, long budget, TrainingOptions.Engine engine) {
        Shapes s = new Shapes(cfg, batch, seqLen);
        List<MemoryPlan.Part> parts = new ArrayList<>();
        parts.add(weights(cfg, DataType.FLOAT));
        Map<String, long[]> targets = targets(cfg, lora);
        double step = s.backwardPass(cfg);
        long targetElems = 0;
        long largest = 0;
        long factors = 0;
        for (Map.Entry<String, long[]> t : targets.entrySet()) {
            long out = t.getValue()[0];
            long in = t.getValue()[1];
            targetElems += out * in;
            largest = Math.max(largest, out * in);
            factors += (long) lora.r() * (out + in);
            String m = t.getKey();
            if (!m.endsWith("q_proj") && !m.endsWith("v_proj")) step += 3.0 * s.tokens * out;   // measured with q/v
        }
        if (engine != TrainingOptions.Engine.SAMEDIFF) {
            Map<String, Integer> ranks = new LinkedHashMap<>();
            for (String m : targets.keySet()) ranks.put(m, lora.r());
            int threads = Runtime.getRuntime().availableProcessors();
            boolean keep = extra == Extra.SI_EXACT;
            long bytes = cfg instanceof LlamaConfig l
                    ? DirectLlamaStep.plannedWorkingBytes(l, batch, seqLen, threads, ranks, keep)
                    : DirectGptjStep.plannedWorkingBytes((GptjConfig) cfg, batch, seqLen, threads, ranks, keep);
            // the commands measure the loss before and after training with SameDiff's inference pass, whose arrays
            // (the attention scores of a layer, three [heads, T, T]) outgrow the direct step's at long rows
            long evaluation = (long) (4 * forwardElements(s, 1.2) * POOL);
            parts.add(evaluation > bytes
                    ? new MemoryPlan.Part("training arrays", evaluation, batch + " x " + seqLen + " tokens: the loss evaluation's forward pass (the direct step needs " + String.format(java.util.Locale.ROOT, "%.1f GB", bytes / 1e9) + ")")
                    : new MemoryPlan.Part("training arrays", bytes, batch + " x " + seqLen + " tokens a micro-batch (direct step)"));
        } else {
            parts.add(new MemoryPlan.Part("training arrays", (long) (4 * step * POOL), batch + " x " + seqLen + " tokens a micro-batch"));
        }
        parts.add(new MemoryPlan.Part("LoRA", 4 * 4 * factors, targets.size() + " modules: factors, gradients, Adam moments"));
        long extraBytes = switch (extra) {
            case NONE -> 0;
            // ω per module and three scratch matrices; EXACT adds the step's Σ δᵀ·x per module (summed over micro-batches
            // and shards before SI reads it). At the end Ω joins ω while the training arrays are already freed.
            case SI_PAPER, SI_EXACT -> {
                long omega = 4 * targetElems + 12 * largest;
                if (extra == Extra.SI_EXACT) omega += 4 * targetElems;
                yield omega;
            }
            case PENALTY -> 4 * targetElems + 8 * largest;
        };
        if (extraBytes > 0) {
            parts.add(new MemoryPlan.Part(extra == Extra.PENALTY ? "penalty weights" : "SI state", extraBytes,
                    extra == Extra.PENALTY ? "Omega or F per module" : "omega per module"));
        }
        if (extra == Extra.SI_PAPER || extra == Extra.SI_EXACT) {
            // Ω joins ω at the end; the freed training arrays are counted as not coming back to the system (the
            // allocator keeps smaller blocks), so the plan adds Ω rather than taking the larger of the two phases
            parts.add(new MemoryPlan.Part("importance", 4 * targetElems + 8 * largest, "Omega beside omega at the end"));
        }
        parts.add(new MemoryPlan.Part("runtime", RUNTIME, "JVM and native libraries"));
        return new MemoryPlan(run, parts, budget);
    }

    /**
     * The EWC Fisher of {@code silora fisher}: F of every linear module but {@code lm_head}, a scratch matrix per shape,
     * one backward pass of {@code batch} samples with every module's input and output gradient kept.
     */
    public static MemoryPlan fisher(ModelConfig cfg, int batch, int seqLen, long budget) {
        Shapes s = new Shapes(cfg, batch, seqLen);
        List<MemoryPlan.Part> parts = new ArrayList<>();
        parts.add(weights(cfg, DataType.FLOAT));
        long fisher = 0;
        Map<String, Long> scratch = new LinkedHashMap<>();
        long taps = 0;
        for (Map.Entry<String, long[]> m : linears(cfg).entrySet()) {
            if (m.getKey().equals("lm_head")) continue;
            long out = m.getValue()[0];
            long in = m.getValue()[1];
            fisher += out * in;
            scratch.put(out + "x" + in, out * in);
            taps += s.tokens * (in + out);
        }
        double step = s.backwardPass(cfg) + taps;
        parts.add(new MemoryPlan.Part("Fisher", 4 * (fisher + scratch.values().stream().mapToLong(Long::longValue).sum()),
                "F per linear module and a scratch per shape"));
        parts.add(new MemoryPlan.Part("backward arrays", (long) (4 * step * POOL), batch + " x " + seqLen + " tokens"));
        parts.add(new MemoryPlan.Part("runtime", RUNTIME, "JVM and native libraries"));
        return new MemoryPlan("fisher", parts, budget);
    }

    /** The weights held in memory as {@code storage} (2-D tensors; vectors stay FLOAT) and the zero biases. */
    static MemoryPlan.Part weights(ModelConfig cfg, DataType storage) {
        long bytes = 0;
        long params = 0;
        for (long[] shape : CausalLm.tensorShapes(cfg).values()) {
            long n = 1;
            for (long d : shape) n *= d;
            params += n;
            bytes += n * (shape.length == 2 ? storage.width() : 4);
        }
        for (long[] m : linears(cfg).values()) bytes += 4 * m[0];   // a zero bias per module without one (upper bound)
        return new MemoryPlan.Part("weights", bytes, String.format(Locale.ROOT, "%s, %.2f B parameters", name(storage), params / 1e9));
    }

    /** The linear modules by name with their {@code [out, in]} (a tied {@code lm_head} included). */
    static Map<String, long[]> linears(ModelConfig cfg) {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : CausalLm.tensorShapes(cfg).entrySet()) {
            String n = e.getKey();
            if (e.getValue().length != 2 || !n.endsWith(".weight") || n.contains("embed_tokens") || n.contains(".wte.")) continue;
            m.put(n.substring(0, n.length() - ".weight".length()), e.getValue());
        }
        if (cfg.tieWordEmbeddings()) m.put("lm_head", new long[]{cfg.vocabSize(), cfg.hiddenSize()});
        return m;
    }

    /** The modules {@code lora} targets, with their {@code [out, in]}. */
    static Map<String, long[]> targets(ModelConfig cfg, LoraConfig lora) {
        Map<String, long[]> t = new LinkedHashMap<>();
        linears(cfg).forEach((n, s) -> {
            if (lora.matches(n)) t.put(n, s);
        });
        return t;
    }

    private static String name(DataType t) {
        return switch (t) {
            case FLOAT -> "F32";
            case HALF -> "F16";
            case BFLOAT16 -> "BF16";
            default -> t.toString();
        };
    }

    /** Element counts of the activation-sized arrays of one pass. */
    private static final class Shapes {
        final boolean gptj;
        final double tokens;
        final double nd;
        final double nhd;
        final double nkvd;
        final double nm;
        final double nv;
        final double scores;
        final long widenedAtOnce;

        Shapes(ModelConfig cfg, int batch, int seqLen) {
            gptj = cfg instanceof GptjConfig;
            tokens = (double) batch * seqLen;
            nd = tokens * cfg.hiddenSize();
            nhd = tokens * cfg.numHeads() * cfg.headDim();
            nkvd = tokens * cfg.numKeyValueHeads() * cfg.headDim();
            nm = tokens * cfg.intermediateSize();
            nv = tokens * cfg.vocabSize();
            scores = (double) batch * cfg.numHeads() * seqLen * seqLen;
            long d = cfg.hiddenSize();
            long q = (long) cfg.numHeads() * cfg.headDim();
            long kv = (long) cfg.numKeyValueHeads() * cfg.headDim();
            long m = cfg.intermediateSize();
            // widened at once: q, k, v (and fc_in beside them in GPT-J) of a layer, or gate and up, or the output head,
            // and beside the largest of them the previous module's copies, not yet released (measured on 1B, 3B,
            // GPT-J-6B: the peaks exceeded the largest set alone by one layer's set)
            long attention = d * (q + 2 * kv) + (gptj ? d * m : 0);
            long layer = Math.max(attention, 2 * d * m);
            widenedAtOnce = Math.max(layer, (long) cfg.vocabSize() * d) + layer;
        }

        /**
         * Elements SameDiff holds at the peak of a training pass (forward and backward): the measured per-layer counts
         * and three {@code [tokens, vocab]} arrays for the loss.
         */
        double backwardPass(ModelConfig cfg) {
            double layers = gptj
                    ? cfg.numLayers() * (27.5 * nd + 6.0 * nm + 3.0 * scores)
                    : cfg.numLayers() * (11.5 * nd + 8.5 * nhd + 8.5 * nkvd + 3.0 * nm + 3.0 * scores);
            return layers + 3.0 * nv;
        }
    }
}
