package org.silora.dl4j;

import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.ewc.FisherMath;
import org.silora.si.LayerWeighting;

/**
 * Elastic Weight Consolidation (Kirkpatrick et al. 2017) with a diagonal Fisher, on the same API as
 * {@link SiListener}: while a task trains, {@code onGradientCalculation} folds the squared raw task-loss gradient of
 * every minibatch into a running mean ({@link FisherMath#accumulate}); {@link #endTask(Model)} adds that mean to
 * the summed Fisher (online EWC without decay) and moves the anchor.
 *
 * <p>The Fisher is estimated from minibatch gradients along the task's trajectory (as online EWC variants do), not
 * from per-sample gradients at the task's end: it costs nothing extra, and its overall scale (about 1/batch of the
 * per-sample Fisher for the noise part) is absorbed by λ, which is tuned anyway.
 *
 * <pre>{@code
 * EwcListener ewc = EwcListener.builder().build();
 * // in the configuration: .regularization(List.of(ewc.regularization(lambda))) ...
 * net.addListeners(ewc);
 * net.fit(taskA, epochs);
 * ewc.endTask(net);
 * net.fit(taskB, epochs);       // + λ/2·Σ F(θ − θ*)²
 * }</pre>
 */
public final class EwcListener extends ImportanceListener {

    private INDArray fisher;
    private long count;

    private EwcListener(Builder b) {
        super(b.id, b.layerWeighting);
    }

    /** A builder with id {@code "ewc"} and no layer weighting. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder of {@link EwcListener}. */
    public static final class Builder {
        private String id = "ewc";
        private LayerWeighting layerWeighting;

        /** The registry id shared with its regularization. */
        public Builder id(String id) {
            this.id = id;
            return this;
        }

        /** Layer weights λ_l multiplied into F per layer; null (default) for none. */
        public Builder layerWeighting(LayerWeighting w) {
            this.layerWeighting = w;
            return this;
        }

        public EwcListener build() {
            return new EwcListener(this);
        }
    }

    /** EWC's λ: the regularization {@code λ/2·Σ F ⊙ (θ − θ*)²}. */
    @Override
    public ImportanceRegularization regularization(double lambda) {
        return super.regularization(lambda / 2);
    }

    @Override
    public void onGradientCalculation(Model model) {
        bindOnce(model);   // before DL4J applies the regularizations of this step
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray g = flatGradient(model);
            if (fisher == null) fisher = Nd4j.zeros(g.dataType(), g.length());
            FisherMath.accumulate(fisher, g, ++count);
        }
    }

    @Override
    INDArray endTaskImportance(INDArray params) {
        INDArray out = fisher == null ? Nd4j.zeros(params.dataType(), params.length()) : fisher;
        fisher = null;
        count = 0;
        return out;
    }

    /** The running task's Fisher estimate so far (a copy), or null before its first gradient. */
    @Override
    java.util.Map<String, INDArray> runningState() {
        return fisher == null ? java.util.Map.of() : java.util.Map.of("fisher", fisher);
    }

    @Override
    long runningCount() {
        return count;
    }

    @Override
    void restoreRunningState(java.util.Map<String, INDArray> state, long count) {
        fisher = state.get("fisher");
        this.count = fisher == null ? 0 : count;
    }

    public INDArray fisher() {
        return fisher == null ? null : fisher.dup();
    }

    /** Gradients folded into the running task's Fisher. */
    public long count() {
        return count;
    }
}
