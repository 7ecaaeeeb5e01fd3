package org.silora.lora;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * An optimizer step's task loss and gradients, or a part of them that adds up to them. Every predicted token's loss
 * counts with the weight {@code 1/(M·T_m)} of its micro-batch m ({@link #tokenWeights}: M micro-batches in the step,
 * T_m predicted tokens in m), so the step's mean loss is a plain sum over tokens and the parts computed over any split
 * of the step's rows (micro-batches in one process, shards on several machines) {@link #plus add up} to exactly the
 * step's loss and gradients, whatever the shards' sizes.
 *
 * <pre>{@code
 * double[] w = StepGradients.tokenWeights(microBatches);
 * StepGradients g = trainer.gradients(shardOfBatch0, w[0], trainer.weightGradientModules());
 * g = g.plus(otherPart);          // e.g. computed on another machine
 * trainer.applyStep(g);           // penalty, listeners (SI), Adam: as one process would
 * }</pre>
 *
 * @param loss            Σ weight · NLL over the part's predicted tokens
 * @param taskGradients   Σ weight · ∂NLL/∂θ per trainable variable, shaped like it
 * @param weightGradients Σ weight · δᵀ·x {@code [out, in]} per module a listener asked for
 *                        ({@link StepListener#requiredWeightGradients()}): the gradient with respect to the module's
 *                        effective weight W
 */
public record StepGradients(double loss, Map<String, INDArray> taskGradients, Map<String, INDArray> weightGradients) {

    public StepGradients {
        if (taskGradients == null || weightGradients == null) throw new IllegalArgumentException("gradients are missing");
    }

    /** Each micro-batch's token weight {@code 1/(M·T_m)}: the same for every shard of it. */
    public static double[] tokenWeights(List<TokenBatch> microBatches) {
        double scale = 1.0 / microBatches.size();
        double[] w = new double[microBatches.size()];
        for (int m = 0; m < w.length; m++) w[m] = scale / microBatches.get(m).predictedTokens();
        return w;
    }

    /**
     * This part plus {@code other} (same variables and modules): {@code other}'s arrays are added into this part's,
     * which it owns, and the sum is returned.
     */
    public StepGradients plus(StepGradients other) {
        if (!taskGradients.keySet().equals(other.taskGradients.keySet())
                || !weightGradients.keySet().equals(other.weightGradients.keySet())) {
            throw new IllegalArgumentException("the parts of a step hold other variables: " + taskGradients.keySet() + " / "
                    + other.taskGradients.keySet());
        }
        for (Map.Entry<String, INDArray> e : taskGradients.entrySet()) e.getValue().addi(other.taskGradients.get(e.getKey()));
        for (Map.Entry<String, INDArray> e : weightGradients.entrySet()) e.getValue().addi(other.weightGradients.get(e.getKey()));
        return new StepGradients(loss + other.loss, taskGradients, weightGradients);
    }
}
