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
        ModelConfig config = ModelConfigs.load(baseDir);
        for (LoraModule m : model.modules().values()) {
            if (m.name().equals("lm_head") && config.tieWordEmbeddings()) {
                throw new IllegalArgumentException("cannot merge a LoRA on lm_head of a model with tied embeddings "
                        + "(the merge would change the input embedding too)");
            }
        }
        try {
            Files.createDirectories(outDir);
            Map<String, LoraModule> byWeight = new LinkedHashMap<>();
            for (LoraModule m : model.modules().values()) byWeight.put(m.name() + ".weight", m);
            try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(baseDir)) {
                for (String w : byWeight.keySet()) {
                    if (!ckpt.contains(w)) throw ModelFormatException.of(baseDir, "has no tensor '" + w + "' to merge into");
                }
                List<SafetensorsWriter.Entry> entries = new ArrayList<>();
                for (String name : ckpt.names()) {
                    TensorInfo info = ckpt.info(name);
                    LoraModule m = byWeight.get(name);
                    entries.add(new SafetensorsWriter.Entry(name, dtype == null ? info.dtype() : dtype, info.shape(), () -> {
                        INDArray w = ckpt.readFloat(name);
                        return m == null ? w : w.addi(m.delta());
                    }));
                }
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put("format", "pt");
                meta.put("silora.merged_from", baseDir.toAbsolutePath().toString());
                meta.put("silora.merged_modules", String.join(",", model.modules().keySet()));
                meta.put("silora.lora", "r=" + model.config().r() + " alpha=" + model.config().loraAlpha()
                        + " rslora=" + model.config().useRslora());
                SafetensorsWriter.write(outDir.resolve("model.safetensors"), meta, entries);
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
