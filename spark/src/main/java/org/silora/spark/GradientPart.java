package org.silora.spark;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.lora.StepGradients;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link StepGradients} as plain arrays that Spark ships and adds: the weighted loss, each trainable variable's
 * gradient and each requested weight gradient, flattened (row-major), and the seconds the tasks spent computing. Parts
 * {@link #sum add} element by element, in whatever order a tree aggregate combines them.
 *
 * @param loss            Σ weight · NLL
 * @param task            per trainable variable
 * @param weight          per module, {@code [out·in]}
 * @param computeSeconds  summed over the tasks
 * @param slowestSeconds  the slowest task's
 */
record GradientPart(double loss, Map<String, float[]> task, Map<String, float[]> weight, double computeSeconds,
                    double slowestSeconds) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Nothing yet: the start of an aggregation. */
    static GradientPart zero() {
        return new GradientPart(0, new LinkedHashMap<>(), new LinkedHashMap<>(), 0, 0);
    }

    static GradientPart of(StepGradients g, double seconds) {
        if (g == null) return new GradientPart(0, new LinkedHashMap<>(), new LinkedHashMap<>(), seconds, seconds);
        return new GradientPart(g.loss(), floats(g.taskGradients()), floats(g.weightGradients()), seconds, seconds);
    }

    private static Map<String, float[]> floats(Map<String, INDArray> arrays) {
        Map<String, float[]> out = new LinkedHashMap<>();
        arrays.forEach((k, v) -> out.put(k, v.dup('c').reshape(v.length()).toFloatVector()));
        return out;
    }

    /** {@code a + b}; adds into {@code a}'s arrays (Spark's aggregation lets the first argument be reused). */
    static GradientPart sum(GradientPart a, GradientPart b) {
        Map<String, float[]> task = a.task;
        Map<String, float[]> weight = a.weight;
        if (a.task.isEmpty()) {
            task = b.task;
            weight = b.weight;
        } else if (!b.task.isEmpty()) {
            addInto(a.task, b.task);
            addInto(a.weight, b.weight);
        }
        return new GradientPart(a.loss + b.loss, task, weight, a.computeSeconds + b.computeSeconds,
                Math.max(a.slowestSeconds, b.slowestSeconds));
    }

    private static void addInto(Map<String, float[]> into, Map<String, float[]> from) {
        if (!into.keySet().equals(from.keySet())) throw new IllegalStateException("parts of a step of other variables: " + into.keySet() + " / " + from.keySet());
        for (Map.Entry<String, float[]> e : into.entrySet()) {
            float[] x = e.getValue();
            float[] y = from.get(e.getKey());
            for (int i = 0; i < x.length; i++) x[i] += y[i];
        }
    }

    /** Back to ND4J arrays, shaped like the driver's: {@code taskShapes} per variable, {@code weightShapes} per module. */
    StepGradients toStepGradients(Map<String, long[]> taskShapes, Map<String, long[]> weightShapes) {
        return new StepGradients(loss, arrays(task, taskShapes), arrays(weight, weightShapes));
    }

    private static Map<String, INDArray> arrays(Map<String, float[]> flat, Map<String, long[]> shapes) {
        if (!flat.keySet().equals(shapes.keySet())) throw new IllegalStateException("the tasks sent " + flat.keySet() + ", expected " + shapes.keySet());
        Map<String, INDArray> out = new LinkedHashMap<>();
        shapes.forEach((k, s) -> out.put(k, Nd4j.createFromArray(flat.get(k)).castTo(DataType.FLOAT).reshape('c', s)));
        return out;
    }
}
