package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.demo.Pretraining;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.hf.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code import} and {@code import_gb_per_s}: how fast a Hugging Face checkpoint comes in, on a LLaMA-shaped BF16
 * checkpoint of about the options' {@code importBytes} written here (hidden 1024, as many layers as the size
 * allows, at least one): every tensor read as float, and the whole graph import ({@code CausalLm.load}).
 *
 * <pre>{@code
 * ObjectNode imp = ImportSpeed.measure(om, work.resolve("import-checkpoint"), opt);
 * double gbPerSecond = imp.get("read_gb_per_s").asDouble();
 * }</pre>
 */
final class ImportSpeed {

    /** Hidden size of the written checkpoint. */
    static final int HIDDEN = 1024;

    private ImportSpeed() {
    }

    /** The checkpoint's configuration: {@link #HIDDEN} wide, 12·hidden² weights per layer, BF16 (2 bytes a weight). */
    static LlamaConfig config(long approximateBytes) {
        int layers = Math.max(1, (int) (approximateBytes / 2 / (12L * HIDDEN * HIDDEN)));
        return new LlamaConfig(8192, HIDDEN, 2752, layers, 16, 8, 64, 1e-5, 10000.0, null, 2048, false, false, false);
    }

    /**
     * {@code file_bytes}, {@code dtype}, {@code read_all_tensors} and {@code graph_import} (min/median/n over the
     * options' repeats), {@code read_gb_per_s} and {@code graph_import_gb_per_s} (file bytes ÷ median). The weights
     * file is deleted afterwards.
     */
    static ObjectNode measure(ObjectMapper om, Path dir, Bench.Options opt) throws IOException {
        LlamaConfig cfg = config(opt.importBytes());
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), ModelConfigs.toJson(cfg));
        Map<String, INDArray> w = Pretraining.initialWeights(cfg, 3);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("format", "pt"), w, DType.BF16);
        w.clear();
        long bytes = Files.size(dir.resolve("model.safetensors"));
        List<Double> read = new ArrayList<>();
        List<Double> full = new ArrayList<>();
        for (int i = 0; i < opt.repeats(); i++) {
            long t0 = System.nanoTime();
            try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir)) {
                for (String n : ck.names()) ck.readFloat(n);
            }
            read.add((System.nanoTime() - t0) / 1e9);
            long t1 = System.nanoTime();
            try (CausalLm lm = CausalLm.load(dir)) {
                full.add((System.nanoTime() - t1) / 1e9);
            }
            System.gc();   // ND4J frees the read arrays' off-heap memory when they are collected: each repeat starts alike
        }
        Stat r = Stat.of(read);
        Stat f = Stat.of(full);
        ObjectNode o = om.createObjectNode();
        o.put("file_bytes", bytes);
        o.put("dtype", "BF16");
        o.set("read_all_tensors", r.json(om));
        o.set("graph_import", f.json(om));
        o.put("read_gb_per_s", bytes / r.median() / 1e9);
        o.put("graph_import_gb_per_s", bytes / f.median() / 1e9);
        Files.deleteIfExists(dir.resolve("model.safetensors"));
        return o;
    }
}
