package org.silora.continual;

import java.util.List;
import java.util.Map;

/**
 * What one split-MNIST experiment found.
 *
 * @param tasks   the tasks, in training order
 * @param methods the runs reported, in order: {@code finetune}, {@code si} (the best c), {@code ewc} (the best λ)
 * @param joint   joint training on all tasks at once, the reference
 * @param siC     the SI strength the validation digits chose
 * @param lambda  the EWC strength the validation digits chose
 * @param siGrid  every SI strength tried, with its mean validation accuracy
 * @param ewcGrid every EWC strength tried, with its mean validation accuracy
 * @param seconds the whole experiment's time
 */
public record Outcome(List<Task> tasks, Map<String, Run> methods, Run joint, double siC, double lambda,
                      List<Trial> siGrid, List<Trial> ewcGrid, double seconds) {

    /** One strength of a tuning grid and the mean validation accuracy it reached. */
    public record Trial(double strength, double valAvg) {
    }

    /** Keeps the given order of the methods. */
    public Outcome {
        tasks = List.copyOf(tasks);
        methods = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(methods));
        siGrid = List.copyOf(siGrid);
        ewcGrid = List.copyOf(ewcGrid);
    }
}
