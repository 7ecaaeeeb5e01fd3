package org.silora.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.AtomicFiles;
import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.hf.safetensors.TensorInfo;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * peft LoRA adapters: {@code adapter_config.json} and {@code adapter_model.safetensors} with keys
 * {@code base_model.model.<module>.lora_A.weight} {@code [r, in]} and {@code ….lora_B.weight} {@code [out, r]},
 * scaling not baked in. Files written here load with {@code PeftModel.from_pretrained}; files written by peft
 * load here.
 *
 * <pre>{@code
 * PeftAdapters.save(model, Path.of("out/adapter"));                        // after training
 * LoraModel again = PeftAdapters.load(Path.of("models/tiny-llama"), Path.of("out/adapter"));
 * }</pre>
 */
public final class PeftAdapters {

    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    private static final String PREFIX = "base_model.model.";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private PeftAdapters() {
    }

    /** Writes the model's adapter into {@code dir} (created if needed); each file atomically. */
    public static void save(LoraModel model, Path dir) {
        save(model.config(), model.modules(), dir, Map.of());
    }

    /** As {@link #save(LoraModel, Path)}, with extra provenance entries for the safetensors metadata. */
    public static void save(LoraConfig config, Map<String, LoraModule> modules, Path dir, Map<String, String> provenance) {
        Map<String, INDArray[]> factors = new LinkedHashMap<>();
        for (LoraModule m : modules.values()) factors.put(m.name(), new INDArray[]{m.a().getArr(), m.b().getArr()});
        saveFactors(config, factors, dir, provenance);
    }

    /**
     * Writes an adapter given by its factors ({@code lora_A [r, in]}, {@code lora_B [out, r]} by module name) into
     * {@code dir}, each file atomically: e.g. a low-rank approximation made outside a model.
     *
     * <pre>{@code
     * PeftAdapters.saveFactors(LoraConfig.builder().r(4).loraAlpha(4).targetModules("q_proj").build(),
     *         Map.of("model.layers.0.self_attn.q_proj", new INDArray[]{a, b}), Path.of("out/adapter"), Map.of());
     * }</pre>
     */
    public static void saveFactors(LoraConfig config, Map<String, INDArray[]> factors, Path dir, Map<String, String> provenance) {
        try {
            Files.createDirectories(dir);
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("silora.written_by", "silora 0.1.0");
            meta.put("silora.written_at", Instant.now().toString());
            meta.putAll(provenance);
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            for (Map.Entry<String, INDArray[]> e : factors.entrySet()) {
                INDArray a = e.getValue()[0];
                INDArray b = e.getValue()[1];
                if (a.size(0) != config.r() || b.size(1) != config.r()) {
                    throw new IllegalArgumentException("module " + e.getKey() + " has rank " + a.size(0) + ", the configuration says r = " + config.r());
                }
                org.silora.lora.NumericalGuard.requireFinite(a, "lora_A of " + e.getKey() + " (adapter not written)");
                org.silora.lora.NumericalGuard.requireFinite(b, "lora_B of " + e.getKey() + " (adapter not written)");
                entries.add(new SafetensorsWriter.Entry(PREFIX + e.getKey() + ".lora_A.weight", DType.F32, a.shape(), () -> a));
                entries.add(new SafetensorsWriter.Entry(PREFIX + e.getKey() + ".lora_B.weight", DType.F32, b.shape(), () -> b));
            }
            SafetensorsWriter.write(dir.resolve(WEIGHTS), meta, entries);
            AtomicFiles.writeString(dir.resolve(CONFIG), configJson(config, factors.keySet()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write adapter to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** peft's {@code LoraConfig.to_dict()} for this configuration. */
    static String configJson(LoraConfig c, java.util.Collection<String> moduleNames) throws JsonProcessingException {
        ObjectNode o = JSON.createObjectNode();
        o.putObject("alpha_pattern");
        o.putNull("auto_mapping");
        o.put("base_model_name_or_path", c.baseModelNameOrPath());
        o.put("bias", "none");
        o.put("fan_in_fan_out", false);
        o.put("inference_mode", true);
        if (c.initLoraWeights() == LoraConfig.InitLoraWeights.GAUSSIAN) o.put("init_lora_weights", "gaussian");
        else o.put("init_lora_weights", true);
        o.putNull("layers_pattern");
        o.putNull("layers_to_transform");
        o.put("lora_alpha", c.loraAlpha());
        o.put("lora_dropout", c.loraDropout());
        o.putNull("modules_to_save");
        o.put("peft_type", "LORA");
        o.put("r", c.r());
        o.putObject("rank_pattern");
        o.putNull("revision");
        if (c.targetModulesRegex() != null) {
            o.put("target_modules", c.targetModulesRegex());
        } else {
            // peft stores the set of suffixes that actually matched
            ArrayNode t = o.putArray("target_modules");
            TreeSet<String> used = new TreeSet<>();
            for (String name : moduleNames) {
                for (String s : c.targetModules()) {
                    if (name.equals(s) || name.endsWith("." + s)) used.add(s);
                }
            }
            used.forEach(t::add);
        }
        o.put("task_type", "CAUSAL_LM");
        o.put("use_dora", false);
        o.put("use_rslora", c.useRslora());
        return JSON.writeValueAsString(o);
    }

    /** Reads {@code adapter_config.json}: the LoRA settings (unsupported peft features are errors). */
    public static LoraConfig readConfig(Path adapterDir) {
        Path file = adapterDir.resolve(CONFIG);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw ModelFormatException.of(file, "missing: an adapter folder needs adapter_config.json and adapter_model.safetensors");
        } catch (JsonProcessingException e) {
            throw ModelFormatException.of(file, "not valid JSON: " + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED));
        } catch (IOException e) {
            throw ModelFormatException.of(file, "cannot read: " + e);
        }
        if (root == null || !root.isObject()) throw ModelFormatException.of(file, "must be a JSON object");
        try {
            String type = text(root, "peft_type", null);
            if (!"LORA".equals(type)) throw new IllegalArgumentException("peft_type is " + type + ", only LORA is supported");
            String task = text(root, "task_type", "CAUSAL_LM");
            if (task != null && !task.equals("CAUSAL_LM")) throw new IllegalArgumentException("task_type " + task + " is not CAUSAL_LM");
            unsupportedIfSet(root, "use_dora", "DoRA");
            unsupportedIfSet(root, "fan_in_fan_out", "fan_in_fan_out (Conv1D layers)");
            unsupportedIfNonEmpty(root, "rank_pattern");
            unsupportedIfNonEmpty(root, "alpha_pattern");
            unsupportedIfNonEmpty(root, "modules_to_save");
            unsupportedIfNonEmpty(root, "layers_to_transform");
            String bias = text(root, "bias", "none");
            if (!"none".equals(bias)) throw new IllegalArgumentException("bias '" + bias + "' is not supported (only \"none\")");
            LoraConfig.Builder b = LoraConfig.builder();
            JsonNode r = root.get("r");
            if (r == null || !r.canConvertToInt() || !r.isIntegralNumber()) throw new IllegalArgumentException("'r' must be an integer");
            b.r(r.intValue());
            JsonNode alpha = root.get("lora_alpha");
            if (alpha == null || !alpha.isNumber()) throw new IllegalArgumentException("'lora_alpha' must be a number");
            b.loraAlpha(alpha.doubleValue());
            JsonNode drop = root.get("lora_dropout");
            if (drop != null && !drop.isNull()) {
                if (!drop.isNumber()) throw new IllegalArgumentException("'lora_dropout' must be a number");
                b.loraDropout(drop.doubleValue());
            }
            JsonNode rs = root.get("use_rslora");
            b.useRslora(rs != null && rs.asBoolean(false));
            JsonNode init = root.get("init_lora_weights");
            if (init != null && init.isTextual() && init.asText().equals("gaussian")) b.initLoraWeights(LoraConfig.InitLoraWeights.GAUSSIAN);
            JsonNode t = root.get("target_modules");
            if (t == null || t.isNull()) throw new IllegalArgumentException("'target_modules' is missing");
            if (t.isTextual()) {
                b.targetModulesRegex(t.asText());
            } else if (t.isArray()) {
                List<String> names = new ArrayList<>();
                for (JsonNode n : t) {
                    if (!n.isTextual()) throw new IllegalArgumentException("'target_modules' must hold strings");
                    names.add(n.asText());
                }
                b.targetModules(names);
            } else {
                throw new IllegalArgumentException("'target_modules' must be a list or a string");
            }
            b.baseModelNameOrPath(text(root, "base_model_name_or_path", ""));
            return b.build();
        } catch (IllegalArgumentException e) {
            throw ModelFormatException.of(file, e.getMessage());
        }
    }

    /** Reads {@code adapter_model.safetensors}: A and B per module name. */
    public static Map<String, INDArray[]> readFactors(Path adapterDir) {
        Path file = adapterDir.resolve(WEIGHTS);
        if (!Files.exists(file)) {
            if (Files.exists(adapterDir.resolve("adapter_model.bin"))) {
                throw ModelFormatException.of(adapterDir, "adapter_model.bin (pickle) is not read; save the adapter with safe_serialization=True");
            }
            throw ModelFormatException.of(file, "missing: an adapter folder needs adapter_config.json and adapter_model.safetensors");
        }
        Map<String, INDArray[]> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo info : f.tensors().values()) {
                String key = info.name();
                String rest = key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : null;
                int slot;
                String module;
                if (rest != null && rest.endsWith(".lora_A.weight")) {
                    slot = 0;
                    module = rest.substring(0, rest.length() - ".lora_A.weight".length());
                } else if (rest != null && rest.endsWith(".lora_B.weight")) {
                    slot = 1;
                    module = rest.substring(0, rest.length() - ".lora_B.weight".length());
                } else {
                    throw ModelFormatException.of(file, "unexpected tensor '" + key
                            + "' (expected base_model.model.<module>.lora_A.weight / lora_B.weight)");
                }
                if (info.shape().length != 2) throw ModelFormatException.of(file, "tensor '" + key + "' must be 2-D");
                out.computeIfAbsent(module, k -> new INDArray[2])[slot] = f.readFloat(key);
            }
        }
        for (Map.Entry<String, INDArray[]> e : out.entrySet()) {
            INDArray[] ab = e.getValue();
            if (ab[0] == null || ab[1] == null) {
                throw ModelFormatException.of(file, "module '" + e.getKey() + "' has only one of lora_A / lora_B");
            }
            if (ab[0].size(0) != ab[1].size(1)) {
                throw ModelFormatException.of(file, "module '" + e.getKey() + "': lora_A has rank " + ab[0].size(0)
                        + ", lora_B has rank " + ab[1].size(1));
            }
        }
        if (out.isEmpty()) throw ModelFormatException.of(file, "holds no LoRA tensors");
        return out;
    }

    /** The base model in {@code baseDir} with the adapter in {@code adapterDir} applied (not merged). */
    public static LoraModel load(Path baseDir, Path adapterDir) {
        return load(baseDir, adapterDir, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    }

    /**
     * As {@link #load(Path, Path)}, the base weights held as {@code storage} (FLOAT, or HALF/BFLOAT16 for inference).
     *
     * <pre>{@code
     * CausalLm lm = PeftAdapters.load(base, adapter, DataType.HALF).lm();   // GPT-J-6B with its adapter in 12 GB
     * }</pre>
     */
    public static LoraModel load(Path baseDir, Path adapterDir, org.nd4j.linalg.api.buffer.DataType storage) {
        LoraConfig config = readConfig(adapterDir);
        Map<String, INDArray[]> factors = readFactors(adapterDir);
        for (Map.Entry<String, INDArray[]> e : factors.entrySet()) {
            if (e.getValue()[0].size(0) != config.r()) {
                throw ModelFormatException.of(adapterDir.resolve(WEIGHTS), "module '" + e.getKey() + "' has rank "
                        + e.getValue()[0].size(0) + ", adapter_config.json says r = " + config.r());
            }
        }
        try {
            return LoraModel.withFactors(baseDir, config, factors, storage);
        } catch (IllegalArgumentException e) {
            throw ModelFormatException.of(adapterDir, "does not fit the base model in " + baseDir + ": " + e.getMessage());
        }
    }

    private static String text(JsonNode root, String key, String def) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) return def;
        if (!n.isTextual()) throw new IllegalArgumentException("'" + key + "' must be a string");
        return n.asText();
    }

    private static void unsupportedIfSet(JsonNode root, String key, String what) {
        JsonNode n = root.get(key);
        if (n != null && n.asBoolean(false)) throw new IllegalArgumentException(what + " is not supported");
    }

    private static void unsupportedIfNonEmpty(JsonNode root, String key) {
        JsonNode n = root.get(key);
        if (n != null && !n.isNull() && !(n.isContainerNode() && n.isEmpty())) {
            throw new IllegalArgumentException("'" + key + "' is not supported: " + n);
        }
    }

}
