package org.silora.ewc;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.graph.LinearModule;
import org.silora.hf.graph.Weights;
import org.silora.hf.model.CausalLm;
import org.silora.hf.model.StepMemory;
import org.silora.lora.CausalLmLoss;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * The per-sample empirical Fisher of EWC-LoRA (SPEC §2): {@code F = (1/N) Σ_s (∂L_s/∂W)²} for every base linear
 * weight W, where a sample s is one token row and L_s its mean next-token cross-entropy.
 *
 * <p>"Base linear weights" are all linear modules of the graph except {@code lm_head} (q, k, v, o, gate, up, down
 * for LLaMA; q, k, v, out_proj, fc_in, fc_out for GPT-J); embeddings and norms are not linear modules.
 *
 * <p>How: the base weights stay graph constants. One forward/backward per batch of samples yields each module's
 * input {@code x [B·T, in]} and output gradient {@code δ [B·T, out]}; since rows of a batch do not interact, the
 * per-sample gradient is {@code G_s = δ_sᵀ·x_s} over sample s's rows. With label weights {@code 1/n_s} per counted
 * token the batch loss is {@code Σ_s L_s / B}, so {@code G_s = B·δ_sᵀ·x_s} exactly (padding rows have δ = 0).
 * Cost per sample and module: one {@code [out, T]·[T, in]} matmul and a squared accumulate.
 */
public final class FisherEstimator implements AutoCloseable {

    /** Progress after each batch. */
    @FunctionalInterface
    public interface Progress {
        void onBatch(int samplesDone, int samplesTotal);

        Progress NONE = (d, t) -> { };
    }

    static final String PROBE = "fisher_probe";

    private record Tap(LinearModule module, String input, String output) {
    }

    private final CausalLm lm;
    private final Map<String, Tap> taps = new LinkedHashMap<>();
    private final SDVariable loss;

    private FisherEstimator(ModelConfig config, Weights weights) {
        // M2.1 refuses to differentiate a graph without a trainable variable, and only backpropagates along paths from
        // one: a zero scalar VARIABLE is added to every module input, so every module output lies on such a path.
        Map<String, SDVariable> probed = new LinkedHashMap<>();
        LinearFactory recorder = (m, x) -> {
            if (m.name().equals("lm_head")) return m.applyBase(x);
            SameDiff g = x.getSameDiff();
            SDVariable probe = g.hasVariable(PROBE) ? g.getVariable(PROBE) : g.var(PROBE, Nd4j.scalar(DataType.FLOAT, 0f));
            SDVariable in = probed.computeIfAbsent(x.name(), k -> x.add(probe));
            SDVariable y = m.applyBase(in);
            taps.put(m.name(), new Tap(m, in.name(), y.name()));
            return y;
        };
        this.lm = CausalLm.build(config, weights, recorder);
        CausalLmLoss.addTo(lm);
        this.loss = lm.sameDiff().getVariable(CausalLmLoss.TRAINING_SUM);   // Σ over the batch's tokens
        lm.sameDiff().setLossVariables(loss);
    }

    /** An estimator over the model in {@code dir}. */
    public static FisherEstimator of(Path dir) {
        org.silora.hf.config.ModelConfig cfg = org.silora.hf.config.ModelConfigs.load(dir);
        try (var ckpt = org.silora.hf.safetensors.SafetensorsCheckpoint.open(dir)) {
            return new FisherEstimator(cfg, CausalLm.checkpointWeights(ckpt));
        }
    }

    /** An estimator over weights in memory. */
    public static FisherEstimator of(ModelConfig config, Weights weights) {
        return new FisherEstimator(config, weights);
    }

    /** Frees the graph's cached execution arrays (see {@link CausalLm#close()}). */
    @Override
    public void close() {
        lm.close();
    }

    /** The modules covered, in graph order. */
    public List<String> modules() {
        return List.copyOf(taps.keySet());
    }

    /**
     * F over {@code samples} (each a token row of at least 2 tokens), {@code batchSize} samples per forward.
     * Metadata gets {@code samples}, {@code tokens}, {@code seconds}; the caller adds provenance.
     */
    public FisherInformation compute(List<int[]> samples, int batchSize, Progress progress) {
        if (samples.isEmpty()) throw new IllegalArgumentException("no samples for the Fisher");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1");
        long t0 = System.nanoTime();
        Map<String, INDArray> fisher = new LinkedHashMap<>();
        Map<String, INDArray> scratch = new LinkedHashMap<>();
        for (Tap t : taps.values()) {
            fisher.put(t.module().name(), Nd4j.zeros(DataType.FLOAT, t.module().out(), t.module().in()));
            scratch.put(t.module().name(), Nd4j.zeros(DataType.FLOAT, t.module().out(), t.module().in()));
        }
        Set<String> outputs = new LinkedHashSet<>();
        Set<String> grads = new LinkedHashSet<>();
        for (Tap t : taps.values()) {
            outputs.add(t.input());
            grads.add(t.output());
        }
        SameDiff sd = lm.sameDiff();
        long tokens = 0;
        for (int start = 0; start < samples.size(); start += batchSize) {
            List<int[]> batch = samples.subList(start, Math.min(samples.size(), start + batchSize));
            int b = batch.size();
            List<int[]> inputs = new ArrayList<>();
            List<int[]> labels = new ArrayList<>();
            List<float[]> weights = new ArrayList<>();
            for (int[] s : batch) {
                if (s.length < 2) throw new IllegalArgumentException("a Fisher sample needs at least 2 tokens, got " + s.length);
                int n = s.length - 1;
                tokens += n;
                inputs.add(Arrays.copyOfRange(s, 0, n));
                labels.add(Arrays.copyOfRange(s, 1, n + 1));
                float[] w = new float[n];
                Arrays.fill(w, 1f);
                weights.add(w);
            }
            int t = inputs.stream().mapToInt(in -> in.length).max().orElse(0);   // padded row length
            Map<String, INDArray> ph = CausalLmLoss.placeholders(lm, inputs, labels, weights,
                    CausalLmLoss.LABELS, CausalLmLoss.LABEL_WEIGHTS);
            OutAndGrad og = org.silora.step.GradientPass.run(sd, ph, outputs, grads);
            for (Tap tap : taps.values()) {
                INDArray x = og.getOutputs().get(tap.input());
                INDArray delta = og.getGradients().get(tap.output());
                if (x == null || delta == null) throw new IllegalStateException("no activation or gradient for " + tap.module().name());
                INDArray g = scratch.get(tap.module().name());
                INDArray f = fisher.get(tap.module().name());
                for (int r = 0; r < b; r++) {
                    int n = batch.get(r).length - 1;
                    INDArray xs = x.get(NDArrayIndex.interval((long) r * t, (long) r * t + n), NDArrayIndex.all()).dup('c');
                    INDArray ds = delta.get(NDArrayIndex.interval((long) r * t, (long) r * t + n), NDArrayIndex.all()).dup('c');
                    // the pass differentiates Σ_tokens NLL, so sample s's tokens carry δ_s = n_s·∂L_s/∂y
                    Nd4j.gemm(ds, xs, g, true, false, 1.0 / n, 0.0);   // G_s = δ_sᵀ·x_s / n_s
                    f.addi(g.muli(g));
                }
            }
            // this batch's SameDiff arrays are no longer needed: the next batch reuses them (see StepMemory)
            StepMemory.endStepOf(sd);
            progress.onBatch(start + b, samples.size());
        }
        for (INDArray f : fisher.values()) f.divi(samples.size());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("samples", Integer.toString(samples.size()));
        meta.put("tokens", Long.toString(tokens));
        meta.put("seconds", Double.toString((System.nanoTime() - t0) / 1e9));
        meta.put("estimator", "per-sample empirical Fisher: mean over samples of (dL_s/dW)^2, L_s = mean token NLL of sample s; all linear modules but lm_head");
        return new FisherInformation(fisher, meta);
    }
}
