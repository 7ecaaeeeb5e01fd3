package org.silora.lora;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.silora.hf.model.CausalLm;
import org.silora.hf.model.StepMemory;
import org.silora.step.DirectStep;
import org.silora.step.GradientPass;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The causal-LM training loop for a {@link LoraModel}: next-token cross-entropy, Adam (or AdamW) on the LoRA
 * factors only, gradient accumulation, an optional extra penalty term, listeners that see the task-loss
 * gradients and the real update of every step, deterministic under {@link TrainingOptions#seed()}.
 *
 * <pre>{@code
 * LoraTrainer trainer = new LoraTrainer(model, TrainingOptions.builder().epochs(1).build());
 * TrainingResult r = trainer.train(rows, (step, total, loss) -> System.err.printf("%d/%d %.3f%n", step, total, loss));
 * double heldOut = trainer.meanLoss(heldOutRows);
 * }</pre>
 *
 * <p>The loop is its own rather than {@code SameDiff.fit}: M2.1's {@code fit} reports a loss of 0.0, has no
 * gradient accumulation, and exposes gradients only through op-level callbacks.
 */
public final class LoraTrainer {

    /** Progress after each optimizer step. */
    @FunctionalInterface
    public interface Progress {
        /** After each optimizer step: steps done in this run (from 1), steps this run will take, the step's loss. */
        void onStep(int stepsDone, int totalSteps, double loss);

        Progress NONE = (s, t, l) -> { };
    }

    private final LoraModel model;
    private final CausalLm lm;
    private final TrainingOptions options;
    private final SameDiff sd;
    private final SDVariable taskLoss;
    private final List<String> trainable;
    private final Map<String, GradientUpdater<?>> updaters = new LinkedHashMap<>();
    private final List<StepListener> listeners = new ArrayList<>();
    private Penalty penalty;
    private int step;
    private int skipped;
    private Path checkpointDir;
    private int checkpointEvery;
    private Map<String, String> checkpointInfo = new LinkedHashMap<>();
    private TrainingCheckpoint resumed;
    private DirectStep direct;
    private Map<String, INDArray> directArrays;
    private boolean profilePhases;

    public LoraTrainer(LoraModel model, TrainingOptions options) {
        this(model, model.lm(), loraVariables(model), options);
        if (model.config().loraDropout() > 0) {
            // dropout only acts in training; inference with such an adapter is exact, training is not built yet
            throw new IllegalArgumentException("training with lora_dropout > 0 is not supported yet; use 0 (peft's default)");
        }
        if (options.engine() == TrainingOptions.Engine.DIRECT && !DirectStep.supports(lm.graph())) {
            throw new IllegalArgumentException("the direct engine trains LLaMA and GPT-J models with FLOAT weights on the CPU backend, not "
                    + lm.config().architecture() + "; use engine AUTO or SAMEDIFF");
        }
    }

    /**
     * A trainer for any set of variables of a causal LM, e.g. all weights of a model built with
     * {@code CausalLm.build(cfg, weights, LinearFactory.BASE, true)} for pretraining.
     */
    public static LoraTrainer forVariables(CausalLm lm, List<String> variables, TrainingOptions options) {
        return new LoraTrainer(null, lm, variables, options);
    }

    private LoraTrainer(LoraModel model, CausalLm lm, List<String> variables, TrainingOptions options) {
        if (model == null && options.engine() == TrainingOptions.Engine.DIRECT) {
            throw new IllegalArgumentException("the direct engine trains LoRA factors; training other variables needs SAMEDIFF or AUTO");
        }
        if (lm.graph().storage() != DataType.FLOAT) {
            // the gradient function runs every widening before the first layer (M2.1 drops the control dependencies
            // that order them when it copies the graph), so all widened weights would live at once beside the 16-bit ones
            throw new IllegalArgumentException("training needs the base weights in FLOAT, not " + lm.graph().storage()
                    + " (16-bit storage is for inference)");
        }
        this.model = model;
        this.lm = lm;
        this.options = options;
        this.sd = lm.sameDiff();
        CausalLmLoss.addTo(lm);
        // the token-summed NLL: its gradient is the mean loss's times the token count, at a third of the memory
        this.taskLoss = sd.getVariable(CausalLmLoss.TRAINING_SUM);
        this.trainable = List.copyOf(variables);
        Adam adam = new Adam(options.learningRate());
        for (String n : trainable) {
            INDArray p = sd.getArrForVarName(n);
            if (p == null) throw new IllegalArgumentException("no variable '" + n + "' in the graph");
            long size = adam.stateSize(p.length());
            INDArray view = Nd4j.zeros(DataType.FLOAT, 1, size);
            updaters.put(n, adam.instantiate(view, true));
        }
        sd.setLossVariables(taskLoss);
    }

    private static List<String> loraVariables(LoraModel model) {
        List<String> names = new ArrayList<>();
        for (LoraModule m : model.modules().values()) {
            names.add(m.a().name());
            names.add(m.b().name());
        }
        return names;
    }

    /** The LoRA model trained, or {@code null} for a trainer made by {@link #forVariables}. */
    public LoraModel model() {
        return model;
    }

    public CausalLm lm() {
        return lm;
    }

    public TrainingOptions options() {
        return options;
    }

    /** Names of the trainable variables (every LoRA A and B). */
    public List<String> trainableVariables() {
        return trainable;
    }

    public void addListener(StepListener listener) {
        listeners.add(listener);
    }

    /**
     * Adds a penalty (its value and gradient computed in closed form from the parameters) to the objective the
     * optimizer minimises; {@code null} removes it. Listeners still receive the gradients of the task loss alone.
     */
    public void setPenalty(Penalty penalty) {
        this.penalty = penalty;
    }

    /** Optimizer steps done so far (skipped ones included). */
    public int step() {
        return step;
    }

    /** Steps skipped because their loss or gradients were not finite ({@link TrainingOptions#skipNonFinite()}). */
    public int skippedSteps() {
        return skipped;
    }

    /**
     * Saves the trainer's whole state (parameters, optimizer moments, checkpointable listeners, data position) every
     * {@code every} optimizer steps into {@code dir}, atomically; {@code info} is stored alongside (e.g. a loss
     * measured before training) and comes back from {@link #resume(Path)}.
     */
    public void checkpointEvery(Path dir, int every, Map<String, String> info) {
        if (every < 1) throw new IllegalArgumentException("checkpoint interval must be >= 1, got " + every);
        this.checkpointDir = dir;
        this.checkpointEvery = every;
        this.checkpointInfo = new LinkedHashMap<>(info);
    }

    /**
     * Restores the state saved in {@code dir} by an earlier run of the same training (same rows, options and
     * listeners); the next {@link #train} call skips the steps already done. Returns the stored info.
     */
    public Map<String, String> resume(Path dir) {
        resumed = TrainingCheckpoint.load(dir, this);
        return resumed.info();
    }

    /** Trains for the configured epochs over {@code rows} (each a token sequence of at least 2 tokens). */
    public TrainingResult train(List<int[]> rows, Progress progress) {
        if (rows.isEmpty()) throw new IllegalArgumentException("no training rows");
        int bs = options.batchSize();
        int batchesPerEpoch = (rows.size() + bs - 1) / bs;
        int stepsPerEpoch = (batchesPerEpoch + options.gradientAccumulation() - 1) / options.gradientAccumulation();
        int totalSteps = stepsPerEpoch * options.epochs();
        long dataHash = TrainingCheckpoint.hash(rows);
        Random rnd = new Random(options.seed());
        List<Double> losses = new ArrayList<>();
        List<Double> penalties = new ArrayList<>();
        long tokens = 0;
        int done = 0;
        if (resumed != null) {
            resumed.checkData(dataHash, totalSteps);
            losses.addAll(resumed.losses());
            penalties.addAll(resumed.penalties());
            tokens = resumed.tokens();
            done = losses.size();
            resumed = null;
        }
        long t0 = System.nanoTime();
        int k = 0;
        for (int epoch = 0; epoch < options.epochs(); epoch++) {
            List<int[]> order = new ArrayList<>(rows);
            Collections.shuffle(order, rnd);
            List<TokenBatch> batches = new ArrayList<>();
            for (int i = 0; i < order.size(); i += bs) {
                batches.add(new TokenBatch(order.subList(i, Math.min(order.size(), i + bs))));
            }
            for (int i = 0; i < batches.size(); i += options.gradientAccumulation(), k++) {
                if (k < done) continue;   // resumed: done before the checkpoint
                List<TokenBatch> micro = batches.subList(i, Math.min(batches.size(), i + options.gradientAccumulation()));
                double[] lp = step(micro);
                losses.add(lp[0]);
                penalties.add(lp[1]);
                for (TokenBatch b : micro) tokens += b.predictedTokens();
                progress.onStep(losses.size(), totalSteps, lp[0]);
                if (i + options.gradientAccumulation() >= batches.size()) {
                    for (StepListener l : listeners) l.epochEnd(epoch);   // before the checkpoint of this step
                }
                if (checkpointDir != null && losses.size() % checkpointEvery == 0 && losses.size() < totalSteps) {
                    TrainingCheckpoint.save(checkpointDir, this, dataHash, totalSteps, losses, penalties, tokens, checkpointInfo);
                }
            }
        }
        lm.releaseTrainingMemory();   // the steps' working arrays are not needed by what comes after training
        if (direct != null) direct.releaseWorkingMemory();
        return new TrainingResult(losses.size(), tokens, (System.nanoTime() - t0) / 1e9, losses, penalties);
    }

    List<StepListener> listeners() {
        return listeners;
    }

    /**
     * Times each phase of the direct engine's passes from now on ({@code false}: stops and clears); read them with
     * {@link #stepPhases()}. SameDiff's passes are profiled per op instead, with a listener on the graph.
     */
    public void profilePhases(boolean on) {
        profilePhases = on;
        if (direct != null) direct.profile(on);
    }

    /** Seconds and calls per phase of the direct engine since {@link #profilePhases(boolean)}; empty for SameDiff. */
    public Map<String, double[]> stepPhases() {
        return direct == null ? Map.of() : direct.phases();
    }

    /** The engine the next step runs on: "direct" or "samediff" (also when a listener asks for tensors the direct step lacks). */
    public String engineName() {
        if (!useDirect()) return "samediff";
        Set<String> outputs = new LinkedHashSet<>();
        Set<String> gradsFor = new LinkedHashSet<>();
        for (StepListener l : listeners) {
            outputs.addAll(l.requiredActivations());
            gradsFor.addAll(l.requiredActivationGradients());
        }
        return servesDirectly(outputs, gradsFor) ? "direct" : "samediff";
    }

    /** True when the direct step has every tensor the listeners ask for: adapted modules' inputs and output gradients. */
    private boolean servesDirectly(Set<String> outputs, Set<String> gradsFor) {
        Set<String> known = new java.util.HashSet<>(trainable);
        for (LoraModule m : model.modules().values()) {
            known.add(m.input().name());
            known.add(m.output().name());
        }
        known.add(lm.graph().flatLogits().name());
        return known.containsAll(outputs) && known.containsAll(gradsFor);
    }

    private boolean useDirect() {
        return model != null && options.engine() != TrainingOptions.Engine.SAMEDIFF && DirectStep.supports(lm.graph());
    }

    /**
     * The direct step over the model's current LoRA arrays (rebuilt if anything replaced them), or {@code null} when
     * a listener asks for tensors other than the adapted modules' inputs and output gradients.
     */
    private DirectStep directStep(Set<String> outputs, Set<String> gradsFor) {
        if (!servesDirectly(outputs, gradsFor)) return null;
        Map<String, INDArray> now = new LinkedHashMap<>();
        for (String n : trainable) now.put(n, sd.getArrForVarName(n));
        boolean same = directArrays != null && directArrays.size() == now.size();
        if (same) for (Map.Entry<String, INDArray> e : now.entrySet()) same &= directArrays.get(e.getKey()) == e.getValue();
        if (!same) {
            if (direct != null) direct.close();
            Map<String, DirectStep.Lora> lora = new LinkedHashMap<>();
            for (LoraModule m : model.modules().values()) {
                lora.put(m.name(), new DirectStep.Lora(now.get(m.a().name()), now.get(m.b().name()), m.scaling()));
            }
            direct = DirectStep.of(lm.graph(), lora, Math.max(1, Nd4j.factory().blas().getMaxThreads()));
            if (profilePhases) direct.profile(true);
            directArrays = now;
        }
        return direct;
    }

    /** The direct step's result for one micro-batch, as the SameDiff path's {@link OutAndGrad} names it. */
    private record DirectPass(double nllSum, double tokens, Map<String, INDArray> grads, Map<String, INDArray> activations) {
    }

    private DirectPass runDirect(DirectStep step, TokenBatch batch, Set<String> outputs, Set<String> gradsFor) {
        List<int[]> rows = batch.windows();
        int b = rows.size();
        int t = 0;
        for (int[] w : rows) t = Math.max(t, w.length - 1);
        int[][] ids = new int[b][t];
        int[][] labels = new int[b][t];
        int[] lengths = new int[b];
        for (int r = 0; r < b; r++) {
            int[] w = rows.get(r);
            lengths[r] = w.length - 1;
            System.arraycopy(w, 0, ids[r], 0, w.length - 1);
            System.arraycopy(w, 1, labels[r], 0, w.length - 1);
        }
        boolean keep = false;
        for (String n : gradsFor) keep |= !trainable.contains(n);
        keep |= outputs.size() > 1;
        DirectStep.Result r = step.run(ids, lengths, labels, keep);
        Map<String, INDArray> grads = new HashMap<>();
        Map<String, INDArray> acts = new HashMap<>();
        for (LoraModule m : model.modules().values()) {
            grads.put(m.a().name(), r.gradA().get(m.name()));
            grads.put(m.b().name(), r.gradB().get(m.name()));
            if (keep) {
                acts.put(m.input().name(), r.moduleInputs().get(m.name()));
                grads.put(m.output().name(), r.moduleOutputGrads().get(m.name()));
            }
        }
        return new DirectPass(r.nllSum(), r.tokens(), grads, acts);
    }

    Map<String, GradientUpdater<?>> updaters() {
        return updaters;
    }

    SameDiff sameDiff() {
        return sd;
    }

    void restoreCounters(int step, int skipped) {
        this.step = step;
        this.skipped = skipped;
    }

    /**
     * One optimizer step over the given micro-batches; returns {mean task loss, penalty}. SameDiff's arrays of the
     * step are recycled for the next one ({@link StepMemory}): listeners must copy what they keep.
     */
    public double[] step(List<TokenBatch> micro) {
        try {
            return stepOnce(micro);
        } finally {
            if (options.recycleArrays()) StepMemory.endStepOf(sd);
        }
    }

    private double[] stepOnce(List<TokenBatch> micro) {
        String logits = lm.graph().flatLogits().name();
        Set<String> outputs = new LinkedHashSet<>(List.of(logits));   // held for the loss's backward anyway
        Set<String> gradsFor = new LinkedHashSet<>(trainable);
        for (StepListener l : listeners) {
            outputs.addAll(l.requiredActivations());
            gradsFor.addAll(l.requiredActivationGradients());
        }
        Map<String, INDArray> totalGrads = new HashMap<>();
        Map<String, INDArray> activations = new HashMap<>();
        Map<String, INDArray> activationGrads = new HashMap<>();
        double loss = 0;
        double pen = 0;
        double scale = 1.0 / micro.size();
        int index = 0;
        DirectStep fast = useDirect() ? directStep(outputs, gradsFor) : null;
        if (fast == null && options.engine() == TrainingOptions.Engine.DIRECT) {
            throw new IllegalStateException("the direct engine gives listeners the adapted modules' inputs and output gradients "
                    + "only; a listener asks for " + outputs + " / " + gradsFor + " (use engine AUTO or SAMEDIFF)");
        }
        for (TokenBatch batch : micro) {
            Map<String, INDArray> gradients;
            Map<String, INDArray> outs;
            double tokens;
            if (fast != null) {
                DirectPass dp = runDirect(fast, batch, outputs, gradsFor);
                tokens = dp.tokens();
                loss += dp.nllSum() / tokens * scale;
                gradients = dp.grads();
                outs = dp.activations();
            } else {
                Map<String, INDArray> ph = batch.placeholders(lm);
                OutAndGrad og = GradientPass.run(sd, ph, outputs, gradsFor, options.recycleArrays());
                double[] nll = CausalLmLoss.nllSum(og.getOutputs().get(logits), ph.get(CausalLmLoss.LABELS), ph.get(CausalLmLoss.LABEL_WEIGHTS));
                tokens = nll[1];
                loss += nll[0] / tokens * scale;
                gradients = og.getGradients();
                outs = og.getOutputs();
            }
            activationGrads.clear();
            for (String n : gradsFor) {
                INDArray g = gradients.get(n);
                if (g == null) continue;
                if (!trainable.contains(n)) {
                    activationGrads.put(n, g.muli(1.0 / tokens));   // of the micro-batch's mean loss
                    continue;
                }
                INDArray acc = totalGrads.get(n);
                if (acc == null) totalGrads.put(n, g.mul(scale / tokens));
                else acc.addi(g.mul(scale / tokens));
            }
            for (String n : outputs) if (outs.containsKey(n)) activations.put(n, outs.get(n));
            for (StepListener l : listeners) l.microBatch(index, activations, activationGrads, scale);
            index++;
        }
        Map<String, INDArray> taskGrads = totalGrads;
        if (penalty != null) {
            // the objective's gradient = task gradient + the penalty's closed-form gradient (at θ(t), like the loss)
            totalGrads = new HashMap<>();
            for (String n : trainable) totalGrads.put(n, taskGrads.get(n).dup());
            pen = penalty.addGradients(totalGrads);
        }
        String bad = !Double.isFinite(loss) ? "the loss" : !Double.isFinite(pen) ? "the penalty" : null;
        if (bad == null) {
            String g = NumericalGuard.firstNonFinite(totalGrads);
            if (g != null) bad = "the gradient of " + g;
        }
        if (bad != null) {
            if (options.skipNonFinite()) {
                skipped++;
                step++;
                return new double[]{loss, pen};
            }
            throw new NonFiniteException("step " + step + ": " + bad + " is NaN or infinite (lower the learning rate, "
                    + "or skip such steps with skipNonFinite)");
        }
        double lr = options.learningRate();
        StepListener.StepContext before = new StepListener.StepContext(step, lr, loss, pen, taskGrads, activations,
                activationGrads, Map.of());
        for (StepListener l : listeners) l.beforeUpdate(before);

        Map<String, INDArray> updates = new LinkedHashMap<>();
        for (String n : trainable) {
            INDArray param = sd.getArrForVarName(n);
            INDArray update = totalGrads.get(n).dup();
            updaters.get(n).applyUpdater(update, step, 0);
            if (options.weightDecay() > 0) update.addi(param.mul(lr * options.weightDecay()));
            param.subi(update);
            updates.put(n, update);
        }
        StepListener.StepContext after = new StepListener.StepContext(step, lr, loss, pen, taskGrads, activations,
                activationGrads, updates);
        for (StepListener l : listeners) l.afterStep(after);
        step++;
        return new double[]{loss, pen};
    }

    /**
     * The gradients of the mean task loss of {@code batch} with respect to every trainable variable, at the current
     * parameters, as a step computes them (no penalty); new arrays of the caller's.
     *
     * <pre>{@code
     * Map<String, INDArray> g = trainer.gradients(new TokenBatch(rows));
     * }</pre>
     */
    public Map<String, INDArray> gradients(TokenBatch batch) {
        if (useDirect()) {
            DirectPass dp = runDirect(directStep(Set.of(), Set.copyOf(trainable)), batch, Set.of(), Set.copyOf(trainable));
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (String n : trainable) out.put(n, dp.grads().get(n).mul(1.0 / dp.tokens()));
            return out;
        }
        try {
            Map<String, INDArray> ph = batch.placeholders(lm);
            OutAndGrad og = GradientPass.run(sd, ph, List.of(), trainable, options.recycleArrays());
            double tokens = ph.get(CausalLmLoss.LABEL_WEIGHTS).sumNumber().doubleValue();
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (String n : trainable) out.put(n, og.getGradients().get(n).mul(1.0 / tokens));
            return out;
        } finally {
            if (options.recycleArrays()) StepMemory.endStepOf(sd);
        }
    }

    /** Mean next-token loss (token-weighted) over {@code rows}, in batches of the configured size. */
    public double meanLoss(List<int[]> rows) {
        return meanLoss(lm, rows, options.batchSize());
    }

    /** Mean next-token loss (token-weighted) of any LoRA model over {@code rows}. */
    public static double meanLoss(LoraModel model, List<int[]> rows, int batchSize) {
        return meanLoss(model.lm(), rows, batchSize);
    }

    /** Mean next-token loss (token-weighted) of a causal LM over {@code rows}. */
    public static double meanLoss(CausalLm lm, List<int[]> rows, int batchSize) {
        CausalLmLoss.addTo(lm);
        double nll = 0;
        double count = 0;
        try {
            for (int i = 0; i < rows.size(); i += batchSize) {
                TokenBatch b = new TokenBatch(rows.subList(i, Math.min(rows.size(), i + batchSize)));
                Map<String, INDArray> ph = b.placeholders(lm);
                String logits = lm.graph().flatLogits().name();
                double[] s = lm.output(ph, out -> CausalLmLoss.nllSum(out.get(logits), ph.get(CausalLmLoss.LABELS),
                        ph.get(CausalLmLoss.LABEL_WEIGHTS)), logits);
                nll += s[0];
                count += s[1];
            }
        } finally {
            lm.releaseInferenceMemory();
        }
        return nll / count;
    }
}
