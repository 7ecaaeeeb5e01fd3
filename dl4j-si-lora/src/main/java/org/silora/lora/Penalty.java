package org.silora.lora;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * An extra term of the objective a {@link LoraTrainer} minimises, computed from the trainable parameters outside the
 * graph: its value and its gradient in closed form. Listeners keep seeing the task-loss gradients alone, exactly.
 *
 * <pre>{@code
 * trainer.setPenalty(QuadraticPenalty.si(model, importance, 1e-3));
 * }</pre>
 */
public interface Penalty {

    /**
     * The penalty at the current parameters; adds its gradient into {@code grads} (by trainable variable name, arrays
     * shaped like the parameters, modified in place) for every parameter it depends on.
     */
    double addGradients(Map<String, INDArray> grads);

    /** The penalty at the current parameters. */
    double value();
}
