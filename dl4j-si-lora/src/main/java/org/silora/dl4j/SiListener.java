package org.silora.dl4j;

import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.si.LayerWeighting;
import org.silora.si.SiMath;

/**
 * Synaptic Intelligence (Zenke et al. 2017) for any DL4J {@code MultiLayerNetwork} or {@code ComputationGraph}, as a
 * {@link org.deeplearning4j.optimize.api.TrainingListener}.
 *
 * <p>Per step, with the order DL4J 1.0.0-M2.1 calls listeners in: {@code onGradientCalculation} copies the raw
 * task-loss gradient g and the parameters θ (regularization and updater have not run yet); {@code iterationDone}
 * takes the step really taken Δθ = θ' − θ and accumulates {@code ω += −g ⊙ Δθ} ({@link SiMath#accumulate}). At
 * {@link #endTask(Model)}: {@code Ω_task = max(0, ω) / (Δ² + ξ)} with Δ the parameters' change over the task
 * ({@link SiMath#consolidate}), Ω ← Ω + Ω_task, anchor ← θ, ω reset.
 *
 * <pre>{@code
 * SiListener si = SiListener.builder().xi(1e-3).build();
 * // in the configuration: .regularization(List.of(si.regularization(c))).regularizationBias(List.of(si.regularization(c)))
 * net.addListeners(si);
 * net.fit(taskA, epochs);
 * si.endTask(net);
 * net.fit(taskB, epochs);       // pulled towards the task-A parameters with c·Σ Ω(θ − θ*)²
 * }</pre>
 */
public final class SiListener extends ImportanceListener {

    private final double xi;
    private INDArray omega;
    private INDArray taskStart;
    private INDArray grad;
    private INDArray before;
    private long steps;

    private SiListener(Builder b) {
        super(b.id, b.layerWeighting);
        if (!(b.xi > 0)) throw new IllegalArgumentException("xi must be positive, got " + b.xi);
        this.xi = b.xi;
    }

    /** A builder with id {@code "si"}, ξ = 1e-3 (Zenke et al.'s value for MNIST) and no layer weighting. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder of {@link SiListener}. */
    public static final class Builder {
        private String id = "si";
        private double xi = 1e-3;
        private LayerWeighting layerWeighting;

        /** The registry id shared with its regularization; distinct ids keep several listeners apart. */
        public Builder id(String id) {
            this.id = id;
            return this;
        }

        /** ξ, the damping in {@code Ω = max(0, ω) / (Δ² + ξ)}. */
        public Builder xi(double xi) {
            this.xi = xi;
            return this;
        }

        /** Layer weights λ_l = softmax(‖Ω_l‖₂ / τ) (or 1/L) multiplied into Ω per layer; null (default) for none. */
        public Builder layerWeighting(LayerWeighting w) {
            this.layerWeighting = w;
            return this;
        }

        public SiListener build() {
            return new SiListener(this);
        }
    }

    @Override
    public void onGradientCalculation(Model model) {
        bindOnce(model);   // before DL4J applies the regularizations of this step
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            grad = flatGradient(model);
            before = flatParams(model);
            if (taskStart == null) taskStart = before.dup();
            if (omega == null) omega = Nd4j.zeros(before.dataType(), before.length());
        }
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        if (grad == null) return;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray step = flatParams(model).subi(before);
            SiMath.accumulate(omega, grad, step);
            steps++;
        }
        grad = null;
        before = null;
    }

    @Override
    INDArray endTaskImportance(INDArray params) {
        INDArray out = omega == null ? Nd4j.zeros(params.dataType(), params.length())
                : SiMath.consolidate(omega, params.sub(taskStart), xi);
        omega = null;
        taskStart = null;
        grad = null;
        before = null;
        steps = 0;
        return out;
    }

    @Override
    java.util.Map<String, INDArray> runningState() {
        java.util.Map<String, INDArray> m = new java.util.LinkedHashMap<>();
        if (omega != null) {
            m.put("omega", omega);
            m.put("task_start", taskStart);
        }
        return m;
    }

    @Override
    long runningCount() {
        return steps;
    }

    @Override
    void restoreRunningState(java.util.Map<String, INDArray> state, long count) {
        omega = state.get("omega");
        taskStart = state.get("task_start");
        if ((omega == null) != (taskStart == null)) throw new IllegalArgumentException("SI state holds only one of omega and task_start");
        steps = count;
        grad = null;
        before = null;
    }

    /** The path integral ω of the running task so far (a copy), or null before its first step. */
    public INDArray omega() {
        return omega == null ? null : omega.dup();
    }

    /** Σ ω of the running task: by SI's path-integral identity about the task loss's drop. */
    public double omegaSum() {
        return omega == null ? 0 : omega.sumNumber().doubleValue();
    }

    /** Steps recorded in the running task. */
    public long steps() {
        return steps;
    }

    /** ξ. */
    public double xi() {
        return xi;
    }
}
