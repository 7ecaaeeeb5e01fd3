package org.silora.lora;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.silora.hf.ModelFormatException;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.safetensors.SafetensorsWriter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trainer's whole state in one file, {@code trainer-state.safetensors}, written atomically: trainable parameters
 * ({@code param/<name>}), optimizer moments ({@code updater/<name>/<key>}), the state of every {@link Checkpointable}
 * listener ({@code listener/<listener>/<key>}), the losses so far, and in the metadata the step, the data position,
 * a hash of the rows and the caller's info. Loading checks that the rows and the schedule are the same.
 *
 * <pre>{@code
 * trainer.checkpointEvery(out.resolve("checkpoint"), 50, Map.of());
 * // after a crash, in a new process with the same setup:
 * trainer.resume(out.resolve("checkpoint"));
 * trainer.train(rows, progress);   // continues after the last saved step
 * }</pre>
 */
record TrainingCheckpoint(List<Double> losses, List<Double> penalties, long tokens, long dataHash, int totalSteps,
                          Map<String, String> info) {

    static final String FILE = "trainer-state.safetensors";

    /** A cheap, order-sensitive hash of the training rows: resuming on other data is refused. */
    static long hash(List<int[]> rows) {
        long h = 1125899906842597L;
        for (int[] r : rows) h = 31 * h + Arrays.hashCode(r);
        return h;
    }

    static void save(Path dir, LoraTrainer t, long dataHash, int totalSteps, List<Double> losses, List<Double> penalties,
                     long tokens, Map<String, String> info) {
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        for (String n : t.trainableVariables()) {
            tensors.put("param/" + n, t.sameDiff().getArrForVarName(n));
            for (Map.Entry<String, INDArray> e : t.updaters().get(n).getState().entrySet()) {
                tensors.put("updater/" + n + "/" + e.getKey(), e.getValue());
            }
        }
        for (StepListener l : t.listeners()) {
            if (l instanceof Checkpointable c) {
                c.checkpointState().forEach((k, v) -> tensors.put("listener/" + c.checkpointName() + "/" + k, v));
            }
        }
        tensors.put("losses", Nd4j.createFromArray(losses.stream().mapToDouble(Double::doubleValue).toArray()).castTo(DataType.FLOAT));
        tensors.put("penalties", Nd4j.createFromArray(penalties.stream().mapToDouble(Double::doubleValue).toArray()).castTo(DataType.FLOAT));
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            NumericalGuard.requireFinite(e.getValue(), e.getKey() + " (checkpoint not written)");
        }
        Map<String, String> meta = new LinkedHashMap<>(info);
        meta.put("format", "silora-trainer-state/1");
        meta.put("step", Integer.toString(t.step()));
        meta.put("skipped", Integer.toString(t.skippedSteps()));
        meta.put("run_steps", Integer.toString(losses.size()));
        meta.put("total_steps", Integer.toString(totalSteps));
        meta.put("tokens", Long.toString(tokens));
        meta.put("data_hash", Long.toString(dataHash));
        meta.put("seed", Long.toString(t.options().seed()));
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot create " + dir, e);
        }
        SafetensorsWriter.write(dir.resolve(FILE), meta, tensors, DType.F32);
    }

    static TrainingCheckpoint load(Path dir, LoraTrainer t) {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) throw ModelFormatException.of(dir, "no " + FILE + " to resume from");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!"silora-trainer-state/1".equals(meta.get("format"))) throw ModelFormatException.of(file, "not a trainer checkpoint");
            if (Long.parseLong(meta.getOrDefault("seed", "0")) != t.options().seed()) {
                throw ModelFormatException.of(file, "was written with seed " + meta.get("seed") + ", this run uses " + t.options().seed());
            }
            for (String n : t.trainableVariables()) {
                String key = "param/" + n;
                if (!f.tensors().containsKey(key)) throw ModelFormatException.of(file, "lacks '" + key + "': another model or adapter");
                INDArray p = t.sameDiff().getArrForVarName(n);
                if (!Arrays.equals(f.tensors().get(key).shape(), p.shape())) {
                    throw ModelFormatException.of(file, "'" + key + "' has shape " + Arrays.toString(f.tensors().get(key).shape())
                            + ", the model's is " + Arrays.toString(p.shape()));
                }
                p.assign(f.readFloat(key));
                GradientUpdater<?> u = t.updaters().get(n);
                for (Map.Entry<String, INDArray> e : u.getState().entrySet()) {
                    String uk = "updater/" + n + "/" + e.getKey();
                    if (!f.tensors().containsKey(uk)) throw ModelFormatException.of(file, "lacks optimizer state '" + uk + "'");
                    e.getValue().assign(f.readFloat(uk).reshape(e.getValue().shape()));
                }
            }
            for (StepListener l : t.listeners()) {
                if (l instanceof Checkpointable c) {
                    String prefix = "listener/" + c.checkpointName() + "/";
                    Map<String, INDArray> st = new LinkedHashMap<>();
                    for (String k : f.tensors().keySet()) {
                        if (k.startsWith(prefix)) st.put(k.substring(prefix.length()), f.readFloat(k));
                    }
                    if (st.isEmpty()) throw ModelFormatException.of(file, "holds no state for listener '" + c.checkpointName() + "'");
                    c.restoreCheckpointState(st);
                }
            }
            t.restoreCounters(Integer.parseInt(meta.get("step")), Integer.parseInt(meta.get("skipped")));
            List<Double> losses = new ArrayList<>();
            for (double v : f.readFloat("losses").toDoubleVector()) losses.add(v);
            List<Double> penalties = new ArrayList<>();
            for (double v : f.readFloat("penalties").toDoubleVector()) penalties.add(v);
            Map<String, String> info = new LinkedHashMap<>(meta);
            return new TrainingCheckpoint(losses, penalties, Long.parseLong(meta.get("tokens")),
                    Long.parseLong(meta.get("data_hash")), Integer.parseInt(meta.get("total_steps")), info);
        } catch (NumberFormatException e) {
            throw ModelFormatException.of(file, "metadata is damaged: " + e.getMessage());
        }
    }

    void checkData(long hash, int total) {
        if (hash != dataHash || total != totalSteps) {
            throw new IllegalArgumentException("the checkpoint was written for other training data or another schedule "
                    + "(" + totalSteps + " steps); resume with the same data, options and seed");
        }
    }
}
