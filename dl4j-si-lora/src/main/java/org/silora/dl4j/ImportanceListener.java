package org.silora.dl4j;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.silora.hf.ModelFormatException;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.hf.safetensors.TensorInfo;
import org.silora.si.LayerWeighting;
import org.silora.si.SiMath;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link SiListener} and {@link EwcListener} share: per-task importance recorded by the subclass, consolidated
 * online at {@link #endTask(Model)} (importance summed over tasks, anchor moved to the current parameters),
 * optional layer weights λ_l, and the {@link ImportanceState} its {@link ImportanceRegularization}s read.
 *
 * <p>Arrays are flat vectors in the order of {@code model.params()}. One listener serves one model and owns its state:
 * listeners side by side (two networks in one JVM, even under the same id) never see each other's importance.
 */
public abstract class ImportanceListener extends BaseTrainingListener {

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private final String id;
    private final LayerWeighting layerWeighting;
    private INDArray importance;
    private INDArray anchor;
    private Map<String, Double> layerWeights = Map.of();
    private int tasks;
    private final ImportanceState state;
    private Model bound;

    ImportanceListener(String id, LayerWeighting layerWeighting) {
        if (id == null || id.isBlank()) throw new IllegalArgumentException("id must not be blank");
        this.id = id;
        this.layerWeighting = layerWeighting;
        this.state = new ImportanceState(id);
    }

    /**
     * Binds every {@link ImportanceRegularization} with this listener's id in the network's layers to this listener's
     * state: needed for a configuration read back from JSON (the state is not serialized). The listener does it
     * itself on its first gradient and at {@link #endTask} for the network it is attached to; call it before
     * training where the listener is not attached. Returns how many regularizations it bound.
     *
     * <pre>{@code
     * MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
     * net.init();
     * si.bind(net);
     * }</pre>
     */
    public int bind(Model model) {
        int n = 0;
        for (Layer l : layersOf(model)) {
            for (String key : l.paramTable().keySet()) {
                var regs = l.conf().getLayer().getRegularizationByParam(key);
                if (regs == null) continue;
                for (var r : regs) {
                    if (r instanceof ImportanceRegularization ir && ir.id().equals(id)) {
                        ir.bind(state);
                        n++;
                    }
                }
            }
        }
        bound = model;
        return n;
    }

    /** Binds once per network, from the listeners' first callback on it. */
    void bindOnce(Model model) {
        if (bound != model) bind(model);
    }

    /** DL4J scores the regularizations before {@code onGradientCalculation}: bind after the first forward pass. */
    @Override
    public void onForwardPass(Model model, List<INDArray> activations) {
        bindOnce(model);
    }

    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        bindOnce(model);
    }

    /** The importance of the task that just ended, a new flat vector; resets the per-task recording. */
    abstract INDArray endTaskImportance(INDArray params);

    /**
     * Marks the end of a task: folds this task's importance into the total (summed over tasks), moves the anchor to
     * the current parameters, recomputes the layer weights, and registers both under {@link #id()} so that
     * {@link ImportanceRegularization} pulls towards them from the next step on.
     */
    public void endTask(Model model) {
        bindOnce(model);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray params = model.params();
            INDArray flat = params.reshape(params.length());
            INDArray task = endTaskImportance(flat);
            importance = importance == null ? task : importance.addi(task);
            anchor = flat.dup();
            Map<String, long[]> ranges = layerRanges(model);
            if (layerWeighting != null && !ranges.isEmpty()) {
                double[] norms = new double[ranges.size()];
                int i = 0;
                for (long[] r : ranges.values()) norms[i++] = importance.get(NDArrayIndex.interval(r[0], r[0] + r[1])).norm2Number().doubleValue();
                double[] w = SiMath.layerWeights(norms, layerWeighting);
                Map<String, Double> lw = new LinkedHashMap<>();
                i = 0;
                for (String name : ranges.keySet()) lw.put(name, w[i++]);
                layerWeights = Collections.unmodifiableMap(lw);
            }
            tasks++;
            publish(model);
        }
    }

    /** Registers Ω (times the layer weights) and the anchor under the id, for the model's parameters. */
    private void publish(Model model) {
        checkAttachedOnce(model);
        INDArray weighted = importance;
        if (!layerWeights.isEmpty()) {
            weighted = importance.dup();
            for (Map.Entry<String, long[]> e : layerRanges(model).entrySet()) {
                Double w = layerWeights.get(e.getKey());
                if (w == null) throw new IllegalStateException("no layer weight for layer '" + e.getKey() + "'");
                long[] r = e.getValue();
                weighted.get(NDArrayIndex.interval(r[0], r[0] + r[1])).muli(w);
            }
        }
        state.register(model.params(), weighted, anchor);
    }

    /** The running task's recording (ω and its start for SI, the Fisher sum for EWC), by name, for a checkpoint. */
    abstract Map<String, INDArray> runningState();

    /** Counters of the running task (steps, samples), for a checkpoint. */
    abstract long runningCount();

    abstract void restoreRunningState(Map<String, INDArray> state, long count);

    /**
     * Saves everything this listener holds (the ended tasks' Ω, anchor, layer weights and task count, and the
     * running task's recording) atomically into {@code file}, so that a training run checkpointed together with its
     * network ({@code ModelSerializer.writeModel(net, f, true)}) can resume exactly ({@link #restoreState}).
     */
    public void saveState(Path file) {
        Map<String, INDArray> t = new LinkedHashMap<>();
        if (importance != null) t.put("importance", importance);
        if (anchor != null) t.put("anchor", anchor);
        runningState().forEach((k, v) -> t.put("running/" + k, v));
        for (Map.Entry<String, INDArray> e : t.entrySet()) {
            org.silora.lora.NumericalGuard.requireFinite(e.getValue(), e.getKey() + " (listener state not written)");
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "silora-listener-state/1");
        meta.put("listener", getClass().getSimpleName());
        meta.put("id", id);
        meta.put("tasks", Integer.toString(tasks));
        meta.put("running_count", Long.toString(runningCount()));
        try {
            meta.put("layer_weights", JSON.writeValueAsString(layerWeights));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        SafetensorsWriter.write(file, meta, t, DType.F32);
    }

    /**
     * Restores what {@link #saveState} wrote, into this (new) listener, and registers the importance for
     * {@code model} (the restored network) so its regularization applies from the next step on.
     *
     * @throws ModelFormatException if the file is not such a state, is of another listener kind or id, or does not
     *                              fit the model's parameter count
     */
    public void restoreState(Path file, Model model) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!"silora-listener-state/1".equals(meta.get("format"))) {
                throw ModelFormatException.of(file, "not a listener state (metadata format is " + meta.get("format") + ")");
            }
            if (!getClass().getSimpleName().equals(meta.get("listener")) || !id.equals(meta.get("id"))) {
                throw ModelFormatException.of(file, "holds the state of " + meta.get("listener") + " '" + meta.get("id")
                        + "', not of " + getClass().getSimpleName() + " '" + id + "'");
            }
            long n = model.params().length();
            DataType type = model.params().dataType();
            Map<String, INDArray> running = new LinkedHashMap<>();
            INDArray imp = null;
            INDArray anc = null;
            for (TensorInfo ti : f.tensors().values()) {
                if (ti.numel() != n) {
                    throw ModelFormatException.of(file, "'" + ti.name() + "' has " + ti.numel() + " values, the model has " + n + " parameters");
                }
                INDArray v = f.readFloat(ti.name()).reshape(n).castTo(type);
                if (ti.name().equals("importance")) imp = v;
                else if (ti.name().equals("anchor")) anc = v;
                else if (ti.name().startsWith("running/")) running.put(ti.name().substring("running/".length()), v);
                else throw ModelFormatException.of(file, "unexpected tensor '" + ti.name() + "'");
            }
            if ((imp == null) != (anc == null)) throw ModelFormatException.of(file, "holds only one of importance and anchor");
            int t;
            long count;
            Map<String, Double> lw;
            try {
                t = Integer.parseInt(meta.getOrDefault("tasks", "x"));
                count = Long.parseLong(meta.getOrDefault("running_count", "x"));
                lw = new LinkedHashMap<>();
                for (Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e
                        : JSON.readTree(meta.getOrDefault("layer_weights", "{}")).properties()) {
                    if (!e.getValue().isNumber()) throw new IllegalArgumentException("not a number");
                    lw.put(e.getKey(), e.getValue().asDouble());
                }
            } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
                throw ModelFormatException.of(file, "metadata 'tasks', 'running_count' or 'layer_weights' is malformed");
            }
            importance = imp;
            anchor = anc;
            layerWeights = Collections.unmodifiableMap(lw);
            tasks = t;
            try {
                restoreRunningState(running, count);
            } catch (IllegalArgumentException e) {
                throw ModelFormatException.of(file, e.getMessage());
            }
            bind(model);
            if (importance != null) publish(model);
        }
    }

    /** A regularization with this listener's id and the given factor in front of {@code Σ Ω ⊙ (θ − θ*)²}. */
    public ImportanceRegularization regularization(double strength) {
        return new ImportanceRegularization(id, strength, state);
    }

    /** The id that names this listener's regularizations (and its checkpoints). */
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
