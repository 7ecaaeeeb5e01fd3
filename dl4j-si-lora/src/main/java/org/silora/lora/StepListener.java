package org.silora.lora;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * Sees every optimizer step of a {@link LoraTrainer}: the task-loss gradients before the update and the update
 * the optimizer really applied. SI importance recording is one of these.
 *
 * <pre>{@code
 * trainer.addListener(new StepListener() {
 *     public void afterStep(StepContext ctx) { System.out.println(ctx.step() + " " + ctx.loss()); }
 * });
 * }</pre>
 */
public interface StepListener {

    /** Graph activations (by variable name) this listener wants computed each step, e.g. a module's input. */
    default List<String> requiredActivations() {
        return List.of();
    }

    /** Activations whose loss gradient this listener wants, e.g. a module's output {@code y} for ∂L/∂y. */
    default List<String> requiredActivationGradients() {
        return List.of();
    }

    /**
     * LoRA modules (by name) whose effective-weight gradient ∂L/∂W = δᵀ·x of the step's mean task loss this listener
     * reads from {@link StepContext#weightGradients()}, e.g. EXACT-mode SI. Unlike activations, these add up over
     * micro-batches and over shards computed elsewhere ({@link StepGradients}), so such a listener also works when a
     * step's gradients come from several machines.
     */
    default List<String> requiredWeightGradients() {
        return List.of();
    }

    /**
     * After each micro-batch's forward and backward pass: its index in the step (0 first), its requested activations
     * and activation gradients (of that micro-batch's mean loss) and its weight in the step's mean loss
     * (1 / number of micro-batches). Called by the trainer's own pass only, not for gradients from a
     * {@link LoraTrainer.GradientSource} (weight gradients, {@link #requiredWeightGradients()}, are summed for any source).
     * Arrays are valid during the callback only.
     */
    default void microBatch(int index, Map<String, INDArray> activations, Map<String, INDArray> activationGradients, double weight) {
    }

    /** Before the update: parameters still hold θ(t); gradients are of the task loss only. */
    default void beforeUpdate(StepContext ctx) {
    }

    /**
     * After the last step of each epoch of {@link LoraTrainer#train} ({@code epoch} counts from 0), before a checkpoint
     * of that step is written.
     */
    default void epochEnd(int epoch) {
    }

    /** After the update: parameters hold θ(t+1); {@link StepContext#updates()} holds θ(t) − θ(t+1). */
    default void afterStep(StepContext ctx) {
    }

    /**
     * What a step exposes. Arrays are valid during the callback only; copy what you keep.
     *
     * @param step              0-based optimizer step
     * @param learningRate      η of this step
     * @param loss              mean task loss of the step's batches (before the update)
     * @param penalty           value of the penalty term, 0 without one
     * @param taskGradients     ∂L_task/∂θ per trainable variable, averaged over micro-batches
     * @param activations       the requested activations of the last micro-batch (see {@link #microBatch} for all)
     * @param activationGradients the requested activation gradients of the last micro-batch
     * @param updates           θ(t) − θ(t+1) per trainable variable (after the update only)
     * @param weightGradients   ∂L_task/∂W {@code [out, in]} of the step per module named by {@link #requiredWeightGradients()}
     */
    record StepContext(int step, double learningRate, double loss, double penalty,
                       Map<String, INDArray> taskGradients, Map<String, INDArray> activations,
                       Map<String, INDArray> activationGradients, Map<String, INDArray> updates,
                       Map<String, INDArray> weightGradients) {

        /** A context without weight gradients. */
        public StepContext(int step, double learningRate, double loss, double penalty, Map<String, INDArray> taskGradients,
                           Map<String, INDArray> activations, Map<String, INDArray> activationGradients, Map<String, INDArray> updates) {
            this(step, learningRate, loss, penalty, taskGradients, activations, activationGradients, updates, Map.of());
        }
    }
}
