package org.silora.spark;

import org.silora.io.ModelFingerprint;
import org.silora.lora.LoraConfig;
import org.silora.lora.TrainingOptions;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.List;

/**
 * What an executor needs to build its replica of the model a driver trains: the base model folder (a path every
 * executor can read: a shared or replicated file system), its fingerprint (checked when the replica loads, so an
 * executor that sees other files at that path fails in one clear line instead of training another model), the LoRA
 * layout and the engine. The LoRA factors themselves travel with every step. Also the key of {@link Replicas}.
 *
 * <pre>{@code
 * ReplicaSpec spec = ReplicaSpec.of(modelDir, loraConfig, TrainingOptions.Engine.AUTO);
 * }</pre>
 *
 * @param modelDir    the base model folder
 * @param fingerprint {@link ModelFingerprint#of} of it, as the driver read it
 * @param r           LoRA rank
 * @param loraAlpha   α
 * @param targets     peft target-module suffixes (empty when {@code regex} is set)
 * @param regex       peft's regex form of target_modules, or {@code null}
 * @param useRslora   α/√r scaling
 * @param engine      {@link TrainingOptions.Engine} name the replicas compute with (the driver's)
 */
public record ReplicaSpec(String modelDir, String fingerprint, int r, double loraAlpha, List<String> targets, String regex,
                          boolean useRslora, String engine) implements Serializable {

    private static final long serialVersionUID = 1L;

    public ReplicaSpec {
        if (modelDir == null || modelDir.isBlank()) throw new IllegalArgumentException("no model folder");
        if (fingerprint == null || fingerprint.isBlank()) throw new IllegalArgumentException("no model fingerprint");
        targets = List.copyOf(targets);
        TrainingOptions.Engine.valueOf(engine);
    }

    /** The spec of a driver's model: {@code lora} is its adapter's configuration, {@code engine} its trainer's. */
    public static ReplicaSpec of(Path modelDir, LoraConfig lora, TrainingOptions.Engine engine) {
        return new ReplicaSpec(modelDir.toAbsolutePath().toString(), ModelFingerprint.of(modelDir), lora.r(), lora.loraAlpha(),
                lora.targetModulesRegex() == null ? lora.targetModules() : List.of(), lora.targetModulesRegex(), lora.useRslora(),
                engine.name());
    }

    /** The LoRA layout (initial factors do not matter: a replica's are overwritten each step). */
    LoraConfig loraConfig() {
        LoraConfig.Builder b = LoraConfig.builder().r(r).loraAlpha(loraAlpha).useRslora(useRslora).baseModelNameOrPath(modelDir);
        return (regex != null ? b.targetModulesRegex(regex) : b.targetModules(targets.toArray(String[]::new))).build();
    }

    TrainingOptions.Engine trainingEngine() {
        return TrainingOptions.Engine.valueOf(engine);
    }
}
