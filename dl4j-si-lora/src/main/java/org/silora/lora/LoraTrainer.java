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
 * <p>A step is two calls, which data-parallel training makes on different machines: {@link #gradients(TokenBatch,
 * double, Set)} computes the loss and gradients of some of the step's rows ({@link StepGradients}: parts add up to the
 * step's exactly), {@link #applyStep} adds the penalty, runs the listeners and Adam. {@link #train(List, Progress,
 * GradientSource)} takes each step's gradients from elsewhere (e.g. replicas on a Spark cluster) with the same loop,
 * data order and checkpoints.
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

    /**
     * Where a step's task loss and gradients come from: this trainer's own pass over the micro-batches (the default of
     * {@link #train(List, Progress)}), or replicas of the model elsewhere, e.g. shards on a Spark cluster, summed.
     * Either way {@link #applyStep} then updates the parameters, so a run gives the same adapter however its gradients
     * were computed.
     */
    @FunctionalInterface
    public interface GradientSource {
        /**
         * The loss and gradients of one optimizer step over {@code microBatches}, each micro-batch's tokens weighted by
         * {@link StepGradients#tokenWeights}, with the weight gradients of {@code weightGradientModules}; parameters are
         * those of the trainer now.
         */
        StepGradients gradients(List<TokenBatch> microBatches, Set<String> weightGradientModules);
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
        return train(rows, progress, null);
    }

    /**
     * {@link #train(List, Progress)} with each step's gradients from {@code source} ({@code null}: this trainer's own
     * pass): the same data order, steps, listeners, checkpoints and resumption.
     */
    public TrainingResult train(List<int[]> rows, Progress progress, GradientSource source) {
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
                double[] lp = source == null ? step(micro) : step(micro, source);
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
     * One optimizer step over the given micro-batches, with this trainer's own pass; returns {mean task loss, penalty}.
     * SameDiff's arrays of the step are recycled for the next one ({@link StepMemory}): listeners must copy what they
     * keep.
     */
    public double[] step(List<TokenBatch> micro) {
        try {
            double[] w = StepGradients.tokenWeights(micro);
            Set<String> modules = weightGradientModules();
            StepGradients total = null;
            for (int i = 0; i < micro.size(); i++) {
                StepGradients part = pass(micro.get(i), w[i], modules, i, 1.0 / micro.size());
                total = total == null ? part : total.plus(part);
            }
            return applyStep(total);
        } finally {
            if (options.recycleArrays()) StepMemory.endStepOf(sd);
            lastActivations = Map.of();
            lastActivationGradients = Map.of();
        }
    }

    /**
     * One optimizer step with the loss and gradients from {@code source} (e.g. replicas on other machines); listeners
     * then see no activations, so none may ask for any beyond weight gradients.
     */
    public double[] step(List<TokenBatch> micro, GradientSource source) {
        for (StepListener l : listeners) {
            if (!l.requiredActivations().isEmpty() || !l.requiredActivationGradients().isEmpty()) {
                throw new IllegalStateException("a listener asks for activations " + l.requiredActivations() + " / "
                        + l.requiredActivationGradients() + ", which only this trainer's own pass gives; train without a gradient source");
            }
        }
        return applyStep(source.gradients(micro, weightGradientModules()));
    }

    /** The modules whose effective-weight gradient ∂L/∂W the listeners read ({@link StepListener#requiredWeightGradients()}). */
    public Set<String> weightGradientModules() {
        Set<String> names = new LinkedHashSet<>();
        for (StepListener l : listeners) names.addAll(l.requiredWeightGradients());
        for (String n : names) {
            if (model == null || !model.modules().containsKey(n)) throw new IllegalArgumentException("no LoRA module '" + n + "' for a weight gradient");
        }
        return names;
    }

    /**
     * The loss and gradients of one shard of a step's rows, every predicted token weighted by {@code tokenWeight}
     * (its micro-batch's, {@link StepGradients#tokenWeights}), at the current parameters; with the weight gradients
     * {@code Σ tokenWeight·δᵀ·x} of {@code weightGradientModules}. Shards of a step computed anywhere {@link
     * StepGradients#plus add up} to what {@link #step(List)} computes; new arrays of the caller's. Listeners are not called.
     *
     * <pre>{@code
     * StepGradients part = replica.gradients(new TokenBatch(myRows), w[m], Set.of());
     * }</pre>
     */
    public StepGradients gradients(TokenBatch shard, double tokenWeight, Set<String> weightGradientModules) {
        try {
            return pass(shard, tokenWeight, weightGradientModules, -1, 0);
        } finally {
            if (options.recycleArrays()) StepMemory.endStepOf(sd);
        }
    }

    /** Requested activations of the last micro-batch of the step under way (this trainer's own pass only). */
    private Map<String, INDArray> lastActivations = Map.of();
    private Map<String, INDArray> lastActivationGradients = Map.of();

    /**
     * Forward and backward over one batch: sums weighted by {@code weight}; with {@code index >= 0} the listeners see the
     * micro-batch ({@link StepListener#microBatch}, weight {@code listenerWeight} in the step's mean loss).
     */
    private StepGradients pass(TokenBatch batch, double weight, Set<String> weightModules, int index, double listenerWeight) {
        boolean hooks = index >= 0;
        String logits = lm.graph().flatLogits().name();
        Set<String> outputs = new LinkedHashSet<>(List.of(logits));   // held for the loss's backward anyway
        Set<String> gradsFor = new LinkedHashSet<>(trainable);
        Set<String> askedOutputs = new LinkedHashSet<>();
        Set<String> askedGrads = new LinkedHashSet<>();
        if (hooks) {
            for (StepListener l : listeners) {
                askedOutputs.addAll(l.requiredActivations());
                askedGrads.addAll(l.requiredActivationGradients());
            }
        }
        outputs.addAll(askedOutputs);
        gradsFor.addAll(askedGrads);
        for (String n : weightModules) {
            LoraModule m = model.modules().get(n);
            if (m == null) throw new IllegalArgumentException("no LoRA module '" + n + "' for a weight gradient");
            outputs.add(m.input().name());
            gradsFor.add(m.output().name());
        }
        DirectStep fast = useDirect() ? directStep(outputs, gradsFor) : null;
        if (fast == null && options.engine() == TrainingOptions.Engine.DIRECT) {
            throw new IllegalStateException("the direct engine gives listeners the adapted modules' inputs and output gradients "
                    + "only; a listener asks for " + outputs + " / " + gradsFor + " (use engine AUTO or SAMEDIFF)");
        }
        Map<String, INDArray> gradients;
        Map<String, INDArray> outs;
        double tokens;
        double nllSum;
        if (fast != null) {
            DirectPass dp = runDirect(fast, batch, outputs, gradsFor);
            tokens = dp.tokens();
            nllSum = dp.nllSum();
            gradients = dp.grads();
            outs = dp.activations();
        } else {
            Map<String, INDArray> ph = batch.placeholders(lm);
            OutAndGrad og = GradientPass.run(sd, ph, outputs, gradsFor, options.recycleArrays());
            double[] nll = CausalLmLoss.nllSum(og.getOutputs().get(logits), ph.get(CausalLmLoss.LABELS), ph.get(CausalLmLoss.LABEL_WEIGHTS));
            tokens = nll[1];
            nllSum = nll[0];
            gradients = og.getGradients();
            outs = og.getOutputs();
        }
        if (tokens != batch.predictedTokens()) {
            throw new IllegalStateException("the pass counted " + tokens + " tokens, the batch has " + batch.predictedTokens());
        }
        Map<String, INDArray> task = new LinkedHashMap<>();
        for (String n : trainable) task.put(n, gradients.get(n).mul(weight));
        Map<String, INDArray> weightGrads = new LinkedHashMap<>();
        for (String n : weightModules) {
            // ∂L/∂W = Σ_tokens δᵀ·x, before the listeners' view of δ is rescaled below
            LoraModule m = model.modules().get(n);
            INDArray delta = gradients.get(m.output().name());
            INDArray x = outs.get(m.input().name());
            if (delta == null || x == null) throw new IllegalStateException("the pass gave no input or output gradient of " + n);
            INDArray g = Nd4j.create(DataType.FLOAT, m.base().out(), m.base().in());
            Nd4j.gemm(delta, x, g, true, false, weight, 0.0);
            weightGrads.put(n, g);
        }
        if (hooks) {
            Map<String, INDArray> activations = new HashMap<>();
            Map<String, INDArray> activationGrads = new HashMap<>();
            for (String n : askedGrads) {
                INDArray g = gradients.get(n);
                if (g != null && !trainable.contains(n)) activationGrads.put(n, g.mul(1.0 / tokens));   // of the micro-batch's mean loss
            }
            for (String n : askedOutputs) if (outs.containsKey(n)) activations.put(n, outs.get(n));
            if (outs.containsKey(logits)) activations.put(logits, outs.get(logits));
            for (StepListener l : listeners) l.microBatch(index, activations, activationGrads, listenerWeight);
            lastActivations = activations;
            lastActivationGradients = activationGrads;
        }
        return new StepGradients(nllSum * weight, task, weightGrads);
    }

    /**
     * Applies a step's summed task loss and gradients ({@link StepGradients}, all of the step's micro-batches): the
     * penalty's gradient is added, listeners see the task gradients before and the real update after, Adam (or AdamW)
     * moves the parameters; returns {mean task loss, penalty}. A step whose loss or gradients are not finite is
     * skipped or refused ({@link TrainingOptions#skipNonFinite()}).
     */
    public double[] applyStep(StepGradients g) {
        double loss = g.loss();
        Map<String, INDArray> taskGrads = g.taskGradients();
        if (!taskGrads.keySet().equals(new LinkedHashSet<>(trainable))) {
            throw new IllegalArgumentException("the step's gradients are of " + taskGrads.keySet() + ", the trainer trains " + trainable);
        }
        Map<String, INDArray> totalGrads = taskGrads;
        double pen = 0;
        if (penalty != null) {
            // the objective's gradient = task gradient + the penalty's closed-form gradient (at θ(t), like the loss)
            totalGrads = new HashMap<>();
            for (String n : trainable) totalGrads.put(n, taskGrads.get(n).dup());
            pen = penalty.addGradients(totalGrads);
        }
        String bad = !Double.isFinite(loss) ? "the loss" : !Double.isFinite(pen) ? "the penalty" : null;
        if (bad == null) {
            String n = NumericalGuard.firstNonFinite(totalGrads);
            if (n != null) bad = "the gradient of " + n;
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
        StepListener.StepContext before = new StepListener.StepContext(step, lr, loss, pen, taskGrads, lastActivations,
                lastActivationGradients, Map.of(), g.weightGradients());
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
        StepListener.StepContext after = new StepListener.StepContext(step, lr, loss, pen, taskGrads, lastActivations,
                lastActivationGradients, updates, g.weightGradients());
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
        return gradients(batch, 1.0 / batch.predictedTokens(), Set.of()).taskGradients();
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
