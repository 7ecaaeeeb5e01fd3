package org.silora.ewc;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.ModelFormatException;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.hf.safetensors.TensorInfo;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.si.QuadraticPenalty;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The EWC-LoRA Fisher: per base linear module {@code F = mean_s (∂L_s/∂W)²} ({@code [out, in]}, Hugging Face
 * orientation), its file, and its penalty {@code λ·Σ F ⊙ D²} on the LoRA delta {@code D = s·B·A}.
 *
 * <p>File: safetensors with {@code <module>.fisher} per module (F32, or F16/BF16 on request) and
 * {@code __metadata__} {@code format = silora-fisher/1}, {@code base_model_fingerprint}, {@code samples},
 * {@code seq_len}, {@code data}, {@code seconds}, {@code modules}; written atomically.
 *
 * <pre>{@code
 * FisherInformation f = FisherInformation.load(Path.of("fisher.safetensors"));
 * f.checkFits(model, ModelFingerprint.of(baseDir), file);
 * trainer.setPenalty(f.penalty(model, 0.5));
 * }</pre>
 */
public final class FisherInformation {

    public static final String FORMAT = "silora-fisher/1";
    public static final String SUFFIX = ".fisher";

    private final Map<String, INDArray> modules;
    private final Map<String, String> metadata;

    public FisherInformation(Map<String, INDArray> modules, Map<String, String> metadata) {
        if (modules.isEmpty()) throw new IllegalArgumentException("a Fisher needs at least one module");
        for (Map.Entry<String, INDArray> e : modules.entrySet()) {
            if (e.getValue().rank() != 2) throw new IllegalArgumentException(e.getKey() + ": Fisher must be [out, in]");
        }
        this.modules = Collections.unmodifiableMap(new LinkedHashMap<>(modules));
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** F per module name, {@code [out, in]}. */
    public Map<String, INDArray> modules() {
        return modules;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** Bytes the Fisher values take as {@code dtype} (the file adds a small header). */
    public long valueBytes(DType dtype) {
        long n = 0;
        for (INDArray a : modules.values()) n += a.length() * dtype.byteSize();
        return n;
    }

    /** Writes the file atomically; returns its size in bytes. */
    public long save(Path file, DType dtype) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("Fisher dtype must be F32, F16 or BF16, got " + dtype);
        }
        for (Map.Entry<String, INDArray> e : modules.entrySet()) {
            org.silora.lora.NumericalGuard.requireFinite(e.getValue(), "Fisher of " + e.getKey() + " (file not written)");
        }
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        modules.forEach((n, a) -> entries.add(new SafetensorsWriter.Entry(n + SUFFIX, dtype, a.shape(), () -> a)));
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put("format", FORMAT);
        meta.put("modules", String.join(",", modules.keySet()));
        SafetensorsWriter.write(file, meta, entries);
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Reads a Fisher file; anything else is a one-line error naming the file. */
    public static FisherInformation load(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!FORMAT.equals(meta.get("format"))) {
                throw ModelFormatException.of(file, "not a Fisher file of `silora fisher` (metadata format is " + meta.get("format") + ")");
            }
            Map<String, INDArray> modules = new LinkedHashMap<>();
            for (TensorInfo t : f.tensors().values()) {
                if (!t.name().endsWith(SUFFIX)) throw ModelFormatException.of(file, "unexpected tensor '" + t.name() + "'");
                if (t.shape().length != 2) throw ModelFormatException.of(file, "'" + t.name() + "' is not [out, in]");
                modules.put(t.name().substring(0, t.name().length() - SUFFIX.length()), f.readFloat(t.name()));
            }
            if (modules.isEmpty()) throw ModelFormatException.of(file, "holds no '<module>.fisher' tensors");
            return new FisherInformation(modules, meta);
        }
    }

    /**
     * Checks this Fisher belongs to the base of {@code model} (same fingerprint when both are known) and covers each
     * LoRA module with its weight's shape; a mismatch is a one-line error naming {@code file}.
     */
    public void checkFits(LoraModel model, String baseFingerprint, Path file) {
        String recorded = metadata.get("base_model_fingerprint");
        if (recorded != null && baseFingerprint != null && !recorded.equals(baseFingerprint)) {
            throw ModelFormatException.of(file, "was computed on another base model (" + metadata.getOrDefault("base_model", "?")
                    + ", " + recorded + "), not this one (" + baseFingerprint + ")");
        }
        for (LoraModule m : model.modules().values()) {
            INDArray f = modules.get(m.name());
            if (f == null) throw ModelFormatException.of(file, "has no Fisher for the LoRA module '" + m.name() + "'");
            if (f.size(0) != m.base().out() || f.size(1) != m.base().in()) {
                throw ModelFormatException.of(file, "module '" + m.name() + "' has a Fisher of shape " + Arrays.toString(f.shape())
                        + ", the model's weight is [" + m.base().out() + ", " + m.base().in() + "]");
            }
        }
    }

    /** EWC-LoRA's penalty {@code λ·Σ_modules Σ F ⊙ D²}, D = s·B·A (anchor 0: the base model). */
    public org.silora.si.QuadraticPenalty penalty(LoraModel model, double lambda) {
        return QuadraticPenalty.build(model, lambda, modules::get, n -> null, n -> 1.0);
    }
}
