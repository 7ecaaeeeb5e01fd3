package org.silora.si;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.StepListener;

import java.util.ArrayList;
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
    private final Map<String, Slot> slots = new LinkedHashMap<>();
    private int steps;
    private Importance previous;

    /** Per-module buffers, allocated once. */
    private static final class Slot {
        final LoraModule m;
        final INDArray omega;
        final INDArray start;      // D(t0)
        final INDArray before;     // D(t)
        final INDArray after;      // D(t+1)
        final INDArray grad;       // g(t)

        Slot(LoraModule m) {
            this.m = m;
            long out = m.base().out();
            long in = m.base().in();
            omega = Nd4j.zeros(DataType.FLOAT, out, in);
            start = Nd4j.zeros(DataType.FLOAT, out, in);
            before = Nd4j.zeros(DataType.FLOAT, out, in);
            after = Nd4j.zeros(DataType.FLOAT, out, in);
            grad = Nd4j.zeros(DataType.FLOAT, out, in);
        }

        void delta(INDArray into) {
            Nd4j.gemm(m.b().getArr(), m.a().getArr(), into, false, false, m.scaling(), 0.0);
        }
    }

    private SiRecorder(LoraModel model, SiMode mode, double xi, Importance previous) {
        this.model = model;
        this.mode = mode;
        this.xi = xi;
        this.previous = previous;
        for (LoraModule m : model.modules().values()) {
            Slot s = new Slot(m);
            s.delta(s.start);
            slots.put(m.name(), s);
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

    /** Steps recorded since the last consolidation. */
    public int steps() {
        return steps;
    }

    @Override
    public List<String> requiredActivations() {
        if (mode != SiMode.EXACT) return List.of();
        List<String> names = new ArrayList<>();
        for (Slot s : slots.values()) names.add(s.m.input().name());
        return names;
    }

    @Override
    public List<String> requiredActivationGradients() {
        if (mode != SiMode.EXACT) return List.of();
        List<String> names = new ArrayList<>();
        for (Slot s : slots.values()) names.add(s.m.output().name());
        return names;
    }

    /** EXACT mode: adds this micro-batch's {@code weight·δᵀ·x} to the step's gradient of every module. */
    @Override
    public void microBatch(int index, Map<String, INDArray> activations, Map<String, INDArray> activationGradients, double weight) {
        if (mode != SiMode.EXACT) return;
        for (Slot s : slots.values()) {
            INDArray delta = activationGradients.get(s.m.output().name());   // ∂L/∂y [N, out]
            INDArray x = activations.get(s.m.input().name());                // [N, in]
            if (delta == null || x == null) {
                throw new IllegalStateException("EXACT mode needs the input and output gradient of " + s.m.name());
            }
            Nd4j.gemm(delta, x, s.grad, true, false, weight, index == 0 ? 0.0 : 1.0);   // Σ weight·δᵀ·x
        }
    }

    @Override
    public void beforeUpdate(StepContext ctx) {
        for (Slot s : slots.values()) {
            s.delta(s.before);
            if (mode == SiMode.PAPER) {
                INDArray gA = ctx.taskGradients().get(s.m.a().name());
                INDArray gB = ctx.taskGradients().get(s.m.b().name());
                SiMath.paperGradient(s.m.a().getArr(), s.m.b().getArr(), gA, gB, ctx.learningRate(), s.grad);
            }
        }
    }

    @Override
    public void afterStep(StepContext ctx) {
        for (Slot s : slots.values()) {
            s.delta(s.after);
            SiMath.accumulate(s.omega, s.grad, s.after.subi(s.before));
        }
        steps++;
    }

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
        private double learningRate = Double.NaN;

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
            if (Double.isNaN(learningRate) && sd.getTrainingConfig() != null) {
                learningRate = sd.getTrainingConfig().getUpdater().getLearningRate(at.iteration(), at.epoch());
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
                Nd4j.gemm(bBefore, aBefore, s.before, false, false, s.m.scaling(), 0.0);
                SiMath.paperGradient(aBefore, bBefore, gA, gB, learningRate, s.grad);
                s.delta(s.after);
                SiMath.accumulate(s.omega, s.grad, s.after.subi(s.before));
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
            st.put(e.getKey() + "/start", e.getValue().start);
        }
        st.put("steps", Nd4j.scalar(DataType.FLOAT, (float) steps));
        return st;
    }

    @Override
    public void restoreCheckpointState(Map<String, INDArray> state) {
        for (Map.Entry<String, Slot> e : slots.entrySet()) {
            INDArray o = state.get(e.getKey() + "/omega");
            INDArray st = state.get(e.getKey() + "/start");
            if (o == null || st == null) throw new IllegalArgumentException("checkpoint has no SI state for " + e.getKey());
            e.getValue().omega.assign(o.reshape(e.getValue().omega.shape()));
            e.getValue().start.assign(st.reshape(e.getValue().start.shape()));
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
     * Ends phase ν: Ω = max(0, ω)/(Δν² + ξ) per module (added to the importance of earlier phases), λ from the
     * norms, anchors = the current A and B; then resets ω and restarts Δν from here.
     */
    public Importance consolidate(LayerWeighting weighting, Map<String, String> provenance) {
        Map<String, Importance.ModuleImportance> modules = new LinkedHashMap<>();
        for (Slot s : slots.values()) {
            s.delta(s.after);
            org.silora.lora.NumericalGuard.requireFinite(s.omega, "omega of " + s.m.name() + " after " + steps + " steps");
            INDArray big = SiMath.consolidate(s.omega, s.after.sub(s.start), xi);
            org.silora.lora.NumericalGuard.requireFinite(big, "Omega of " + s.m.name());
            if (previous != null && previous.modules().containsKey(s.m.name())) {
                big.addi(previous.modules().get(s.m.name()).omega());
            }
            modules.put(s.m.name(), new Importance.ModuleImportance(big, s.m.a().getArr().dup(), s.m.b().getArr().dup(),
                    s.m.scaling(), 0));
            s.omega.assign(0);
            s.start.assign(s.after);
        }
        Map<String, String> meta = new LinkedHashMap<>(provenance);
        meta.put("mode", mode.name());
        meta.put("xi", Double.toString(xi));
        meta.put("steps", Integer.toString(steps + (previous == null ? 0 : Integer.parseInt(previous.metadata().getOrDefault("steps", "0")))));
        steps = 0;
        Importance imp = Importance.of(modules, weighting, meta);
        previous = imp;
        return imp;
    }

    /** Builder: mode (PAPER default), ξ (1e-7 default), earlier importance to add to. */
    public static final class Builder {
        private final LoraModel model;
        private SiMode mode = SiMode.PAPER;
        private double xi = SiMath.DEFAULT_XI;
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

        /** Importance of earlier general phases: the new Ω is added to it. */
        public Builder previous(Importance previous) {
            this.previous = previous;
            return this;
        }

        public SiRecorder build() {
            return new SiRecorder(model, mode, xi, previous);
        }
    }
}
