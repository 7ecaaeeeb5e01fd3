package org.silora.si;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.StepListener;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Phase ν: records the SI path integral {@code ω += −g ⊙ ΔD} for the effective weight of every LoRA module after
 * every optimizer step of a {@link org.silora.lora.LoraTrainer}, with ΔD = D(t+1) − D(t) the step the optimizer
 * really took and g the task-loss gradient ({@link SiMode#PAPER} or {@link SiMode#EXACT}). Accumulators are ND4J
 * arrays sized like the targeted weights, allocated once.
 *
 * <pre>{@code
 * SiRecorder si = SiRecorder.builder(model).mode(SiMode.PAPER).build();
 * trainer.addListener(si);
 * trainer.train(generalRows, progress);
 * Importance imp = si.consolidate(LayerWeighting.AUTO, provenance);   // Ω, λ, anchors; ω reset
 * }</pre>
 */
public final class SiRecorder implements StepListener, org.silora.lora.Checkpointable {

    private final LoraModel model;
    private final SiMode mode;
    private final double xi;
    private final SiRecipe recipe;
    private final Map<String, Slot> slots = new LinkedHashMap<>();
    private int steps;
    private Importance previous;

    /**
     * Per-module state: ω as a full {@code [out, in]} matrix (in EXACT mode the trainer adds the step's gradient); everything
     * else as LoRA factors, which are small. The full-size D(t), D(t+1) and g̃ of a step are built one module at a time
     * in {@link #scratch} matrices shared by the modules of one shape: on LLaMA-3.2-1B (q/v) that keeps SI's memory at
     * 0.34 GB (PAPER) instead of 1.7 GB.
     */
    private static final class Slot {
        final LoraModule m;
        final INDArray omega;      // ω
        final INDArray startA;     // A(t0), B(t0): D(t0) = s·B·A
        final INDArray startB;
        final INDArray aBefore;    // A(t), B(t)
        final INDArray bBefore;
        final INDArray gA;         // PAPER: task gradients of A and B at t
        final INDArray gB;
        INDArray accumulated;      // AUTHORS recipe: Ω of the epochs ended so far (allocated at the first epoch end)

        Slot(LoraModule m) {
            this.m = m;
            long out = m.base().out();
            long in = m.base().in();
            omega = Nd4j.zeros(DataType.FLOAT, out, in);
            startA = m.a().getArr().dup('c');
            startB = m.b().getArr().dup('c');
            aBefore = Nd4j.zeros(DataType.FLOAT, m.a().getArr().shape());
            bBefore = Nd4j.zeros(DataType.FLOAT, m.b().getArr().shape());
            gA = Nd4j.zeros(DataType.FLOAT, m.a().getArr().shape());
            gB = Nd4j.zeros(DataType.FLOAT, m.b().getArr().shape());
        }

        /** {@code into = s·B·A} of the given factors. */
        void delta(INDArray b, INDArray a, INDArray into) {
            Nd4j.gemm(b, a, into, false, false, m.scaling(), 0.0);
        }

        void delta(INDArray into) {
            delta(m.b().getArr(), m.a().getArr(), into);
        }
    }

    /** Three {@code [out, in]} scratch matrices (D before, D after, g̃) per module shape. */
    private final Map<java.util.List<Long>, INDArray[]> scratch = new java.util.HashMap<>();
    private double learningRate;

    private INDArray[] scratch(Slot s) {
        return scratch.computeIfAbsent(java.util.List.of((long) s.m.base().out(), (long) s.m.base().in()), k -> new INDArray[]{
                Nd4j.create(DataType.FLOAT, k.get(0), k.get(1)), Nd4j.create(DataType.FLOAT, k.get(0), k.get(1)),
                Nd4j.create(DataType.FLOAT, k.get(0), k.get(1))});
    }

    private SiRecorder(LoraModel model, SiMode mode, double xi, SiRecipe recipe, Importance previous) {
        this.model = model;
        this.mode = mode;
        this.xi = xi;
        this.recipe = recipe;
        this.previous = previous;
        for (LoraModule m : model.modules().values()) {
            slots.put(m.name(), new Slot(m));
        }
    }

    public static Builder builder(LoraModel model) {
        return new Builder(model);
    }

    public SiMode mode() {
        return mode;
    }

    public double xi() {
        return xi;
    }

    public SiRecipe recipe() {
        return recipe;
    }

    /**
     * AUTHORS recipe: Ω += max(0, ω)/(Δ² + ξ) with Δ this epoch's change of every module, then ω reset and Δ restarted
     * (the paper's code accumulates Ω per epoch); nothing for SPEC.
     */
    @Override
    public void epochEnd(int epoch) {
        if (!recipe.perEpoch()) return;
        for (Slot s : slots.values()) {
            INDArray big = closeSegment(s);
            if (s.accumulated == null) s.accumulated = big;
            else s.accumulated.addi(big);
        }
        epochsAccumulated++;
    }

    /**
     * Ω of the path since the segment's start, max(0, ω)/(Δ² + ξ) with Δ = D(now) − D(start); then ω is reset and the
     * next segment starts here. One segment is the whole phase (SPEC) or one epoch (AUTHORS).
     */
    private INDArray closeSegment(Slot s) {
        INDArray[] sc = scratch(s);
        s.delta(s.startB, s.startA, sc[0]);   // D(start)
        s.delta(sc[1]);                       // D(now)
        org.silora.lora.NumericalGuard.requireFinite(s.omega, "omega of " + s.m.name() + " after " + steps + " steps");
        INDArray big = SiMath.consolidate(s.omega, sc[1].subi(sc[0]), xi);
        s.omega.assign(0);
        s.startA.assign(s.m.a().getArr());
        s.startB.assign(s.m.b().getArr());
        return big;
    }

    private int epochsAccumulated;

    /** Steps recorded since the last consolidation. */
    public int steps() {
        return steps;
    }

    /**
     * EXACT mode reads ∂L/∂W = Σ δᵀ·x of every module from the step ({@link StepContext#weightGradients()}): summed over
     * micro-batches, or over the shards of a step computed on several machines, by the trainer.
     */
    @Override
    public List<String> requiredWeightGradients() {
        if (mode != SiMode.EXACT) return List.of();
        return List.copyOf(slots.keySet());
    }

    private static INDArray weightGradient(Slot s, StepContext ctx) {
        INDArray g = ctx.weightGradients().get(s.m.name());
        if (g == null) throw new IllegalStateException("EXACT mode needs the weight gradient of " + s.m.name());
        return g;
    }

    @Override
    public void beforeUpdate(StepContext ctx) {
        for (Slot s : slots.values()) {
            s.aBefore.assign(s.m.a().getArr());
            s.bBefore.assign(s.m.b().getArr());
            if (mode == SiMode.PAPER) {
                s.gA.assign(ctx.taskGradients().get(s.m.a().name()));
                s.gB.assign(ctx.taskGradients().get(s.m.b().name()));
            }
        }
        learningRate = ctx.learningRate();
    }

    @Override
    public void afterStep(StepContext ctx) {
        if (fused == null && org.silora.step.OmegaUpdate.available()) {
            fused = new org.silora.step.OmegaUpdate(Math.max(1, Nd4j.factory().blas().getMaxThreads()));
        }
        boolean clamp = recipe.clampEachStep();
        if (fused != null) {
            // ω −= g ⊙ (D(t+1) − D(t)) in one pass over ω per module, a block of rows at a time
            fused.together(() -> {
                for (Slot s : slots.values()) {
                    INDArray a = s.m.a().getArr();
                    INDArray b = s.m.b().getArr();
                    if (mode == SiMode.PAPER) {
                        fused.paper(s.omega, s.aBefore, s.bBefore, a, b, s.gA, s.gB, learningRate, s.m.scaling(), clamp);
                    } else {
                        fused.withGradient(s.omega, weightGradient(s, ctx), s.aBefore, s.bBefore, a, b, s.m.scaling(), clamp);
                    }
                }
            });
            steps++;
            return;
        }
        for (Slot s : slots.values()) {
            INDArray[] sc = scratch(s);
            s.delta(s.bBefore, s.aBefore, sc[0]);                                             // D(t)
            INDArray g;
            if (mode == SiMode.PAPER) {
                g = SiMath.paperGradient(s.aBefore, s.bBefore, s.gA, s.gB, learningRate, sc[2]);   // g̃(t)
            } else {
                g = weightGradient(s, ctx);                                                   // Σ δᵀ·x
            }
            s.delta(sc[1]);                                                                   // D(t+1)
            SiMath.accumulate(s.omega, g, sc[1].subi(sc[0]));
            if (clamp) org.nd4j.linalg.ops.transforms.Transforms.relu(s.omega, false);   // ω := max(0, ω)
        }
        steps++;
    }

    /** The fused update on the CPU backend (null elsewhere: ND4J ops then). */
    private org.silora.step.OmegaUpdate fused;

    /**
     * The same recording as a SameDiff {@link org.nd4j.autodiff.listeners.Listener}, for training with
     * {@code SameDiff.fit} instead of {@link org.silora.lora.LoraTrainer}: it keeps the raw gradients of A and B
     * when backprop produces them ({@code activationAvailable}; M2.1's updater overwrites them in place later),
     * the real update in {@code preUpdate}, and folds them into ω in {@code iterationDone}, where the
     * parameters before the step are {@code after + update}. PAPER mode only: ∂L/∂W needs the module activations
     * that {@code fit} does not expose.
     *
     * <pre>{@code
     * sd.fit(dataIterator, epochs, recorder.asSameDiffListener());
     * }</pre>
     */
    public org.nd4j.autodiff.listeners.Listener asSameDiffListener() {
        if (mode != SiMode.PAPER) {
            throw new IllegalStateException("under SameDiff.fit only SI mode PAPER can be recorded; EXACT needs LoraTrainer");
        }
        return new FitListener();
    }

    private final class FitListener extends org.nd4j.autodiff.listeners.BaseListener {
        private final Map<String, String> gradientToParam = new java.util.HashMap<>();
        private final Map<String, INDArray> gradients = new java.util.HashMap<>();
        private final Map<String, INDArray> updates = new java.util.HashMap<>();
        private final java.util.Set<String> params = new java.util.HashSet<>();
        private double fitLearningRate = Double.NaN;

        FitListener() {
            for (Slot s : slots.values()) {
                params.add(s.m.a().name());
                params.add(s.m.b().name());
            }
        }

        @Override
        public boolean isActive(org.nd4j.autodiff.listeners.Operation operation) {
            return operation == org.nd4j.autodiff.listeners.Operation.TRAINING;
        }

        @Override
        public void activationAvailable(org.nd4j.autodiff.samediff.SameDiff sd, org.nd4j.autodiff.listeners.At at,
                                        org.nd4j.linalg.dataset.api.MultiDataSet batch,
                                        org.nd4j.autodiff.samediff.internal.SameDiffOp op, String varName, INDArray activation) {
            if (gradientToParam.isEmpty()) {
                for (String p : params) {
                    org.nd4j.autodiff.samediff.internal.Variable v = sd.getVariables().get(p);
                    if (v != null && v.getGradient() != null) gradientToParam.put(v.getGradient().name(), p);
                }
            }
            String p = gradientToParam.get(varName);
            if (p != null) gradients.put(p, activation.dup());
        }

        @Override
        public void preUpdate(org.nd4j.autodiff.samediff.SameDiff sd, org.nd4j.autodiff.listeners.At at,
                              org.nd4j.autodiff.samediff.internal.Variable v, INDArray update) {
            if (params.contains(v.getName())) updates.put(v.getName(), update.dup());
            if (Double.isNaN(fitLearningRate) && sd.getTrainingConfig() != null) {
                fitLearningRate = sd.getTrainingConfig().getUpdater().getLearningRate(at.iteration(), at.epoch());
            }
        }

        @Override
        public void iterationDone(org.nd4j.autodiff.samediff.SameDiff sd, org.nd4j.autodiff.listeners.At at,
                                  org.nd4j.linalg.dataset.api.MultiDataSet dataSet, org.nd4j.autodiff.listeners.Loss loss) {
            for (Slot s : slots.values()) {
                String an = s.m.a().name();
                String bn = s.m.b().name();
                INDArray gA = gradients.get(an);
                INDArray gB = gradients.get(bn);
                INDArray uA = updates.get(an);
                INDArray uB = updates.get(bn);
                if (gA == null || gB == null || uA == null || uB == null) {
                    throw new IllegalStateException("SI listener saw no gradient/update for " + s.m.name() + " in iteration " + at.iteration());
                }
                INDArray aBefore = s.m.a().getArr().add(uA);
                INDArray bBefore = s.m.b().getArr().add(uB);
                INDArray[] sc = scratch(s);
                s.delta(bBefore, aBefore, sc[0]);
                SiMath.paperGradient(aBefore, bBefore, gA, gB, fitLearningRate, sc[2]);
                s.delta(sc[1]);
                SiMath.accumulate(s.omega, sc[2], sc[1].subi(sc[0]));
            }
            gradients.clear();
            updates.clear();
            steps++;
        }
    }

    @Override
    public String checkpointName() {
        return "si";
    }

    @Override
    public Map<String, INDArray> checkpointState() {
        Map<String, INDArray> st = new LinkedHashMap<>();
        for (Map.Entry<String, Slot> e : slots.entrySet()) {
            st.put(e.getKey() + "/omega", e.getValue().omega);
            st.put(e.getKey() + "/start_A", e.getValue().startA);
            st.put(e.getKey() + "/start_B", e.getValue().startB);
            if (e.getValue().accumulated != null) st.put(e.getKey() + "/omega_epochs", e.getValue().accumulated);
        }
        st.put("steps", Nd4j.scalar(DataType.FLOAT, (float) steps));
        return st;
    }

    @Override
    public void restoreCheckpointState(Map<String, INDArray> state) {
        for (Map.Entry<String, Slot> e : slots.entrySet()) {
            Slot s = e.getValue();
            INDArray o = state.get(e.getKey() + "/omega");
            INDArray sa = state.get(e.getKey() + "/start_A");
            INDArray sb = state.get(e.getKey() + "/start_B");
            if (o == null || sa == null || sb == null) throw new IllegalArgumentException("checkpoint has no SI state for " + e.getKey());
            if (o.length() != s.omega.length() || sa.length() != s.startA.length() || sb.length() != s.startB.length()) {
                throw new IllegalArgumentException("checkpoint's SI state for " + e.getKey() + " has other shapes than the model's");
            }
            s.omega.assign(o.reshape(s.omega.shape()));
            s.startA.assign(sa.reshape(s.startA.shape()));
            s.startB.assign(sb.reshape(s.startB.shape()));
            INDArray acc = state.get(e.getKey() + "/omega_epochs");
            s.accumulated = acc == null ? null : acc.reshape(s.omega.shape()).dup();
        }
        INDArray n = state.get("steps");
        if (n != null) steps = (int) n.getDouble(0);
    }

    /** Σ_i ω_i over all modules: SI's estimate of the loss drop since the last consolidation. */
    public double omegaSum() {
        double sum = 0;
        for (Slot s : slots.values()) sum += s.omega.sumNumber().doubleValue();
        return sum;
    }

    /** ω of one module (live view; for tests and diagnostics). */
    public INDArray omega(String module) {
        return slots.get(module).omega;
    }

    /**
     * Ends phase ν: Ω = max(0, ω)/(Δν² + ξ) per module (added to the importance of earlier phases, and with the AUTHORS
     * recipe to the Ω of the epochs already ended), λ from the norms, anchors = the current A and B; then resets ω and
     * restarts Δν from here.
     */
    public Importance consolidate(LayerWeighting weighting, Map<String, String> provenance) {
        Map<String, Importance.ModuleImportance> modules = new LinkedHashMap<>();
        for (Slot s : slots.values()) {
            INDArray big = closeSegment(s);
            if (s.accumulated != null) {
                big.addi(s.accumulated);
                s.accumulated = null;
            }
            org.silora.lora.NumericalGuard.requireFinite(big, "Omega of " + s.m.name());
            if (previous != null && previous.modules().containsKey(s.m.name())) {
                big.addi(previous.modules().get(s.m.name()).omega());
            }
            modules.put(s.m.name(), new Importance.ModuleImportance(big, s.m.a().getArr().dup(), s.m.b().getArr().dup(),
                    s.m.scaling(), 0));
        }
        Map<String, String> meta = new LinkedHashMap<>(provenance);
        meta.put("mode", mode.name());
        meta.put("xi", Double.toString(xi));
        meta.put("recipe", recipe.id());
        if (recipe.perEpoch()) meta.put("epochs_accumulated", Integer.toString(epochsAccumulated));
        epochsAccumulated = 0;
        meta.put("steps", Integer.toString(steps + (previous == null ? 0 : Integer.parseInt(previous.metadata().getOrDefault("steps", "0")))));
        steps = 0;
        Importance imp = Importance.of(modules, weighting, meta);
        previous = imp;
        return imp;
    }

    /** Builder: mode (PAPER default), recipe (SPEC default), ξ (the recipe's unless set), earlier importance to add to. */
    public static final class Builder {
        private final LoraModel model;
        private SiMode mode = SiMode.PAPER;
        private SiRecipe recipe = SiRecipe.SPEC;
        private Double xi;
        private Importance previous;

        Builder(LoraModel model) {
            this.model = model;
        }

        public Builder mode(SiMode mode) {
            this.mode = mode;
            return this;
        }

        public Builder xi(double xi) {
            if (!(xi > 0)) throw new IllegalArgumentException("xi must be positive, got " + xi);
            this.xi = xi;
            return this;
        }

        /** The ν recipe ({@link SiRecipe}): AUTHORS also sets ξ = 1e-9 unless {@link #xi} says otherwise. */
        public Builder recipe(SiRecipe recipe) {
            this.recipe = java.util.Objects.requireNonNull(recipe, "recipe");
            return this;
        }

        /** Importance of earlier general phases: the new Ω is added to it. */
        public Builder previous(Importance previous) {
            this.previous = previous;
            return this;
        }

        public SiRecorder build() {
            return new SiRecorder(model, mode, xi == null ? recipe.xi() : xi, recipe, previous);
        }
    }
}
