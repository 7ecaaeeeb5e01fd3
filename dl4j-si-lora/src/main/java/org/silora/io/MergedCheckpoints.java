package org.silora.io;

import org.silora.hf.AtomicFiles;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.hf.safetensors.TensorInfo;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * peft's {@code merge_and_unload} + {@code save_pretrained}: a complete Hugging Face checkpoint with
 * {@code W0 + s·B·A} folded into every LoRA-targeted weight, written one tensor at a time.
 *
 * <pre>{@code
 * LoraModel model = PeftAdapters.load(base, adapter);
 * MergedCheckpoints.write(model, base, Path.of("out/merged"), null);   // null: keep each tensor's dtype
 * }</pre>
 */
public final class MergedCheckpoints {

    /** Files copied from the base model folder when present. */
    static final List<String> COPIED = List.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model");

    private MergedCheckpoints() {
    }

    /**
     * Writes {@code outDir/model.safetensors} and copies config and tokenizer files.
     *
     * @param dtype storage type of every tensor, or {@code null} to keep each base tensor's own
     */
    public static void write(LoraModel model, Path baseDir, Path outDir, DType dtype) {
        Map<String, INDArray[]> factors = new LinkedHashMap<>();
        for (LoraModule m : model.modules().values()) factors.put(m.name(), new INDArray[]{m.a().getArr(), m.b().getArr()});
        write(model.config(), factors, baseDir, outDir, dtype);
    }

    /**
     * As {@link #write(LoraModel, Path, Path, DType)} from an adapter's factors ({@code lora_A}, {@code lora_B} by
     * module, e.g. {@link PeftAdapters#readFactors}), without building the model: one base tensor is in memory at a
     * time, so a 6 B-parameter checkpoint merges in a few hundred MB.
     *
     * <pre>{@code
     * MergedCheckpoints.write(PeftAdapters.readConfig(adapter), PeftAdapters.readFactors(adapter), base, out, null);
     * }</pre>
     */
    public static void write(LoraConfig lora, Map<String, INDArray[]> factors, Path baseDir, Path outDir, DType dtype) {
        ModelConfig config = ModelConfigs.load(baseDir);
        if (factors.containsKey("lm_head") && config.tieWordEmbeddings()) {
            throw new IllegalArgumentException("cannot merge a LoRA on lm_head of a model with tied embeddings "
                    + "(the merge would change the input embedding too)");
        }
        double s = lora.scaling();
        try {
            Files.createDirectories(outDir);
            Map<String, INDArray[]> byWeight = new LinkedHashMap<>();
            factors.forEach((k, v) -> byWeight.put(k + ".weight", v));
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(baseDir)) {
                for (Map.Entry<String, INDArray[]> e : byWeight.entrySet()) {
                    String w = e.getKey();
                    if (!ckpt.contains(w)) throw new IllegalArgumentException("the base model has no tensor '" + w + "' to merge into");
                    long[] shape = ckpt.info(w).shape();
                    INDArray a = e.getValue()[0];
                    INDArray b = e.getValue()[1];
                    if (a.size(0) != lora.r()) {
                        throw new IllegalArgumentException("adapter module '" + w.substring(0, w.length() - 7) + "' has rank "
                                + a.size(0) + ", adapter_config.json says r = " + lora.r());
                    }
                    if (shape.length != 2 || b.size(0) != shape[0] || a.size(1) != shape[1] || a.size(0) != b.size(1)) {
                        throw new IllegalArgumentException("adapter module '" + w.substring(0, w.length() - 7) + "' has lora_A "
                                + java.util.Arrays.toString(a.shape()) + " and lora_B " + java.util.Arrays.toString(b.shape())
                                + ", the base weight is " + java.util.Arrays.toString(shape));
                    }
                }
                for (String name : ckpt.names()) {
                    if (!name.endsWith(".weight") || ckpt.info(name).shape().length != 2) continue;
                    String module = name.substring(0, name.length() - 7);
                    if (lora.matches(module) && !factors.containsKey(module) && !module.endsWith("embed_tokens") && !module.endsWith(".wte")) {
                        throw new IllegalArgumentException("adapter has no lora_A/lora_B for targeted module " + module);
                    }
                }
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("silora.merged_modules", String.join(",", factors.keySet()));
            meta.put("silora.lora", "r=" + lora.r() + " alpha=" + lora.loraAlpha() + " rslora=" + lora.useRslora());
            Map<String, WeightEdit> edits = new LinkedHashMap<>();
            byWeight.forEach((name, ab) -> edits.put(name, w -> Nd4j.gemm(ab[1].castTo(DataType.FLOAT), ab[0].castTo(DataType.FLOAT), w, false, false, s, 1.0)));
            writeEdited(edits, meta, baseDir, outDir, dtype);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write merged checkpoint to " + outDir + ": " + e.getMessage(), e);
        }
    }

    /** Changes one base weight (float, {@code [out, in]}) in place before it is written. */
    @FunctionalInterface
    public interface WeightEdit {
        void apply(INDArray weight);
    }

    /**
     * The general form of a merge: every base tensor is copied, the ones named in {@code edits} (full tensor names,
     * e.g. {@code model.layers.0.self_attn.q_proj.weight}) after their edit, one tensor in memory at a time; config and
     * tokenizer files are copied. {@code meta} is added to the safetensors metadata (provenance).
     *
     * <pre>{@code
     * MergedCheckpoints.writeEdited(Map.of("model.layers.0.mlp.up_proj.weight", w -> w.muli(0.5)), Map.of(), base, out, null);
     * }</pre>
     */
    public static void writeEdited(Map<String, WeightEdit> edits, Map<String, String> meta, Path baseDir, Path outDir, DType dtype) {
        try {
            Files.createDirectories(outDir);
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(baseDir)) {
                for (String w : edits.keySet()) {
                    if (!ckpt.contains(w)) throw new IllegalArgumentException("the base model has no tensor '" + w + "' to merge into");
                }
                List<SafetensorsWriter.Entry> entries = new ArrayList<>();
                INDArray[] previous = new INDArray[1];   // the writer asks for tensors in order: the last one is done with
                for (String name : ckpt.names()) {
                    TensorInfo info = ckpt.info(name);
                    WeightEdit edit = edits.get(name);
                    entries.add(new SafetensorsWriter.Entry(name, dtype == null ? info.dtype() : dtype, info.shape(), () -> {
                        if (previous[0] != null && previous[0].closeable()) previous[0].close();
                        INDArray w = ckpt.readFloat(name);
                        if (edit != null) edit.apply(w);
                        previous[0] = w;
                        return w;
                    }));
                }
                Map<String, String> all = new LinkedHashMap<>();
                all.put("format", "pt");
                all.put("silora.merged_from", baseDir.toAbsolutePath().toString());
                all.putAll(meta);
                try {
                    SafetensorsWriter.write(outDir.resolve("model.safetensors"), all, entries);
                } finally {
                    if (previous[0] != null && previous[0].closeable()) previous[0].close();
                }
            }
            for (String f : COPIED) {
                Path src = baseDir.resolve(f);
                if (Files.isRegularFile(src)) AtomicFiles.write(outDir.resolve(f), os -> Files.copy(src, os));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write merged checkpoint to " + outDir + ": " + e.getMessage(), e);
        }
    }
}
