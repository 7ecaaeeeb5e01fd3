package org.silora.dl4j;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.silora.si.LayerWeighting;
import org.silora.si.SiMath;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link SiListener} and {@link EwcListener} share: per-task importance recorded by the subclass, consolidated
 * online at {@link #endTask(Model)} (importance summed over tasks, anchor moved to the current parameters),
 * optional layer weights λ_l, and registration in {@link ImportanceRegistry} for {@link ImportanceRegularization}.
 *
 * <p>Arrays are flat vectors in the order of {@code model.params()}. One listener serves one model; building a
 * listener clears what an earlier listener registered under the same id (use distinct ids for listeners that live
 * side by side).
 */
public abstract class ImportanceListener extends BaseTrainingListener {

    private final String id;
    private final LayerWeighting layerWeighting;
    private INDArray importance;
    private INDArray anchor;
    private Map<String, Double> layerWeights = Map.of();
    private int tasks;

    ImportanceListener(String id, LayerWeighting layerWeighting) {
        if (id == null || id.isBlank()) throw new IllegalArgumentException("id must not be blank");
        this.id = id;
        this.layerWeighting = layerWeighting;
        ImportanceRegistry.remove(id);   // a new listener owns its id: what an earlier one registered there is gone
    }

    /** The importance of the task that just ended, a new flat vector; resets the per-task recording. */
    abstract INDArray endTaskImportance(INDArray params);

    /**
     * Marks the end of a task: folds this task's importance into the total (summed over tasks), moves the anchor to
     * the current parameters, recomputes the layer weights, and registers both under {@link #id()} so that
     * {@link ImportanceRegularization} pulls towards them from the next step on.
     */
    public void endTask(Model model) {
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray params = model.params();
            INDArray flat = params.reshape(params.length());
            INDArray task = endTaskImportance(flat);
            importance = importance == null ? task : importance.addi(task);
            anchor = flat.dup();
            INDArray weighted = importance;
            Map<String, long[]> ranges = layerRanges(model);
            if (layerWeighting != null && !ranges.isEmpty()) {
                double[] norms = new double[ranges.size()];
                int i = 0;
                for (long[] r : ranges.values()) norms[i++] = importance.get(NDArrayIndex.interval(r[0], r[0] + r[1])).norm2Number().doubleValue();
                double[] w = SiMath.layerWeights(norms, layerWeighting);
                weighted = importance.dup();
                Map<String, Double> lw = new LinkedHashMap<>();
                i = 0;
                for (Map.Entry<String, long[]> e : ranges.entrySet()) {
                    long[] r = e.getValue();
                    weighted.get(NDArrayIndex.interval(r[0], r[0] + r[1])).muli(w[i]);
                    lw.put(e.getKey(), w[i++]);
                }
                layerWeights = Collections.unmodifiableMap(lw);
            }
            checkAttachedOnce(model);
            ImportanceRegistry.register(id, params, weighted, anchor);
            tasks++;
        }
    }

    /** A regularization with this listener's id and the given factor in front of {@code Σ Ω ⊙ (θ − θ*)²}. */
    public ImportanceRegularization regularization(double strength) {
        return new ImportanceRegularization(id, strength);
    }

    /** The id this listener registers its importance under. */
    public String id() {
        return id;
    }

    /** The consolidated importance summed over the ended tasks (a copy; flat, {@code params()} order), or null before the first {@link #endTask}. */
    public INDArray importance() {
        return importance == null ? null : importance.dup();
    }

    /** The anchor θ* (the parameters at the last {@link #endTask}; a copy), or null before the first. */
    public INDArray anchor() {
        return anchor == null ? null : anchor.dup();
    }

    /** λ_l per layer name, as used by the regularization; empty when no layer weighting is configured. */
    public Map<String, Double> layerWeights() {
        return layerWeights;
    }

    /** The number of {@link #endTask} calls so far. */
    public int tasks() {
        return tasks;
    }

    /**
     * Copies the model's current gradient as a flat vector: during {@code onGradientCalculation} the raw task-loss
     * gradient. DL4J's backprop sums over the minibatch and its updater divides by the batch size afterwards (when
     * the configuration's {@code miniBatch} is on, the default), so this divides too: the result is the gradient of
     * the mean loss, the one the step and the score refer to.
     */
    static INDArray flatGradient(Model model) {
        INDArray g = model.getGradientsViewArray().dup().reshape(model.getGradientsViewArray().length());
        int batch = model.batchSize();
        if (model.conf().isMiniBatch() && batch > 1) g.divi(batch);
        return g;
    }

    /** Copies the model's parameters as a flat vector. */
    static INDArray flatParams(Model model) {
        INDArray p = model.params();
        return p.dup().reshape(p.length());
    }

    /**
     * DL4J 1.0.0-M2.1 puts a custom regularization given to {@code NeuralNetConfiguration.Builder.regularization(...)}
     * (or {@code regularizationBias}) into every layer twice (measured, also after a JSON round trip), which would
     * silently double the strength; refuse that clearly.
     */
    private void checkAttachedOnce(Model model) {
        for (Layer l : layersOf(model)) {
            for (String key : l.paramTable().keySet()) {
                var regs = l.conf().getLayer().getRegularizationByParam(key);
                if (regs == null) continue;
                long n = regs.stream().filter(r -> r instanceof ImportanceRegularization ir && ir.id().equals(id)).count();
                if (n > 1) {
                    throw new IllegalStateException("importance '" + id + "' is attached " + n + " times to parameter " + key
                            + " of layer " + l.getIndex() + ": DL4J 1.0.0-M2.1 duplicates a regularization given to"
                            + " NeuralNetConfiguration.Builder.regularization(...); attach it with the layer builders'"
                            + " .regularization(...)/.regularizationBias(...) instead");
                }
            }
        }
    }

    private static Layer[] layersOf(Model model) {
        if (model instanceof MultiLayerNetwork n) return n.getLayers();
        if (model instanceof ComputationGraph g) return g.getLayers();
        return new Layer[0];
    }

    /** Layer name → {offset, length} in the flat parameter vector, for layers with parameters, in order. */
    static Map<String, long[]> layerRanges(Model model) {
        Layer[] layers = layersOf(model);
        long base = model.params().offset();
        Map<String, long[]> out = new LinkedHashMap<>();
        List<String> seen = new ArrayList<>();
        for (Layer l : layers) {
            if (l.numParams() == 0) continue;
            long min = Long.MAX_VALUE;
            for (INDArray v : l.paramTable().values()) min = Math.min(min, v.offset());
            String name = l.conf().getLayer().getLayerName();
            if (name == null || seen.contains(name)) name = "layer" + l.getIndex();
            seen.add(name);
            out.put(name, new long[]{min - base, l.numParams()});
        }
        return out;
    }
}
