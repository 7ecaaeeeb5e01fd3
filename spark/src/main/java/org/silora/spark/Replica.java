package org.silora.spark;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.io.ModelFingerprint;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.StepGradients;
import org.silora.lora.TokenBatch;
import org.silora.lora.TrainingOptions;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One copy of the base model with its LoRA modules on an executor, used by one task at a time: it takes the driver's
 * current factors, and computes the loss and gradients of its shard of a step through the same
 * {@link LoraTrainer#gradients(TokenBatch, double, Set)} as the single-process trainer. It keeps no training state of
 * its own (no optimizer moments, no SI accumulators), so losing it loses nothing.
 */
final class Replica {

    final ReplicaSpec spec;
    private final LoraModel model;
    private final LoraTrainer trainer;

    private Replica(ReplicaSpec spec, LoraModel model) {
        this.spec = spec;
        this.model = model;
        this.trainer = new LoraTrainer(model, TrainingOptions.builder().engine(spec.trainingEngine()).build());
    }

    /** Loads the base model named by {@code spec}, refusing other files than the driver fingerprinted. */
    static Replica load(ReplicaSpec spec) {
        Path dir = Path.of(spec.modelDir());
        String seen = ModelFingerprint.of(dir);
        if (!seen.equals(spec.fingerprint())) {
            throw new IllegalStateException("the model at " + dir + " on this executor (" + seen + ") is not the driver's ("
                    + spec.fingerprint() + "); every executor must see the same base model files");
        }
        return new Replica(spec, LoraModel.create(dir, spec.loraConfig(), 0));
    }

    /**
     * The summed loss and gradients of this replica's rows of a step: the factors are set to {@code params} first;
     * {@code shards[m]} are its rows of micro-batch m (may be empty), weighted by {@code tokenWeights[m]}.
     */
    StepGradients run(Map<String, float[]> params, List<List<int[]>> shards, double[] tokenWeights, Set<String> weightModules) {
        for (String n : trainer.trainableVariables()) {
            float[] v = params.get(n);
            INDArray p = trainer.lm().sameDiff().getArrForVarName(n);
            if (v == null || v.length != p.length()) throw new IllegalArgumentException("the driver sent no factor '" + n + "' of this shape");
            p.assign(Nd4j.createFromArray(v).reshape(p.shape()));   // in place: the direct step keeps reading these arrays
        }
        StepGradients sum = null;
        for (int m = 0; m < shards.size(); m++) {
            if (shards.get(m).isEmpty()) continue;
            StepGradients part = trainer.gradients(new TokenBatch(shards.get(m)), tokenWeights[m], weightModules);
            sum = sum == null ? part : sum.plus(part);
        }
        return sum;
    }

    /** The model (for its module shapes). */
    LoraModel model() {
        return model;
    }
}
