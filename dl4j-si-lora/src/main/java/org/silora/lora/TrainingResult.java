package org.silora.lora;

import java.util.List;

/**
 * What a training run did.
 *
 * @param steps      optimizer steps
 * @param tokens     predicted tokens seen (all epochs)
 * @param seconds    wall time
 * @param stepLosses mean task loss of each step, measured before its update
 * @param stepPenalties penalty value of each step (zeros without a penalty)
 */
public record TrainingResult(int steps, long tokens, double seconds, List<Double> stepLosses, List<Double> stepPenalties) {

    public TrainingResult {
        stepLosses = List.copyOf(stepLosses);
        stepPenalties = List.copyOf(stepPenalties);
    }

    public double firstLoss() {
        return stepLosses.isEmpty() ? Double.NaN : stepLosses.get(0);
    }

    public double lastLoss() {
        return stepLosses.isEmpty() ? Double.NaN : stepLosses.get(stepLosses.size() - 1);
    }
}
