package org.silora.fuzz;

import org.silora.io.TextDocuments;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.silora.ewc.FisherEstimator;
import org.silora.ewc.FisherInformation;
import org.silora.eval.Loaders;
import org.silora.io.PileJsonlZst;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.SiRecorder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Coverage-guided fuzzing (Jazzer) of every reader of this module that faces untrusted files: peft adapters (config
 * and weights), importance files, Fisher files, the multiple-choice loaders (SciQ, PIQA, MedMCQA), plain text and
 * the Pile's {@code .jsonl.zst}. Any outcome but success or a one-line {@link ModelFormatException} is a finding.
 * {@code mvn verify} replays the seed corpus under {@code src/test/resources/org/silora/fuzz/FilesFuzzTestInputs/};
 * {@code JAZZER_FUZZ=1} fuzzes (see {@code .ci/run}). The seeds are written by {@link #writeSeeds()}
 * ({@code -Dsilora.writeFuzzSeeds=true}).
 */
class FilesFuzzTest {

    private static final Path SEEDS = Path.of("src/test/resources/org/silora/fuzz/FilesFuzzTestInputs");
    private static final String VALID_ADAPTER_CONFIG = """
            {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"], "lora_dropout": 0.0,
             "bias": "none", "task_type": "CAUSAL_LM", "base_model_name_or_path": "tiny"}""";

    /** The one acceptable failure: a {@link ModelFormatException} whose message is one line. */
    private static void oneLine(ModelFormatException e) {
        if (e.getMessage() == null || e.getMessage().contains("\n")) throw new AssertionError("not a one-line message: " + e.getMessage());
    }

    private static Path temp(String name, byte[] data) throws IOException {
        Path dir = Files.createTempDirectory("fuzz");
        Path f = dir.resolve(name);
        Files.write(f, data);
        return f;
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private interface Reader {
        void read(Path file) throws IOException;
    }

    /** Writes {@code data} as {@code name} in a fresh folder and reads it; only a one-line rejection may come back. */
    private static void rejectsOrReads(String name, byte[] data, Reader reader) throws IOException {
        Path f = temp(name, data);
        try {
            reader.read(f);
        } catch (ModelFormatException e) {
            oneLine(e);
        } finally {
            delete(f.getParent());
        }
    }

    @FuzzTest(maxDuration = "20s")
    void adapterWeightsRejectOrRead(byte[] data) throws IOException {
        rejectsOrReads("adapter_model.safetensors", data, f -> {
            Files.writeString(f.resolveSibling("adapter_config.json"), VALID_ADAPTER_CONFIG);
            PeftAdapters.readConfig(f.getParent());
            PeftAdapters.readFactors(f.getParent());
        });
    }

    @FuzzTest(maxDuration = "20s")
    void adapterConfigRejectsOrReads(byte[] data) throws IOException {
        rejectsOrReads("adapter_config.json", data, f -> PeftAdapters.readConfig(f.getParent()));
    }

    @FuzzTest(maxDuration = "20s")
    void importanceFileRejectsOrReads(byte[] data) throws IOException {
        rejectsOrReads("importance.safetensors", data, Importance::load);
    }

    @FuzzTest(maxDuration = "20s")
    void fisherFileRejectsOrReads(byte[] data) throws IOException {
        rejectsOrReads("fisher.safetensors", data, FisherInformation::load);
    }

    @FuzzTest(maxDuration = "20s")
    void datasetLoadersRejectOrLoad(byte[] data) throws IOException {
        rejectsOrReads("data.jsonl", data, f -> {
            for (String task : List.of("sciq", "piqa", "medmcqa")) {
                for (boolean skip : new boolean[]{false, true}) {
                    try {
                        Loaders.load(task, f, skip);
                    } catch (ModelFormatException e) {
                        oneLine(e);
                    }
                }
            }
            TextDocuments.read(f, 1000);
        });
    }

    @FuzzTest(maxDuration = "20s")
    void pileReaderRejectsOrReads(byte[] data) throws IOException {
        rejectsOrReads("pile.jsonl.zst", data, f -> {
            try (Stream<String> docs = PileJsonlZst.documents(f)) {
                docs.limit(1000).forEach(String::length);
            }
        });
    }

    /** Writes the seed corpus: valid files of each kind, made by this project's own writers. */
    @Test
    @EnabledIfSystemProperty(named = "silora.writeFuzzSeeds", matches = "true")
    void writeSeeds() throws IOException {
        ModelConfig cfg = TinyModels.llamaGqa();
        Weights w = Weights.of(TinyModels.randomWeights(cfg, 2));
        LoraModel model = LoraModel.create(cfg, w, LoraConfig.builder().r(2).loraAlpha(4).build(), 3);
        LoraTrainer t = new LoraTrainer(model, TrainingOptions.builder().batchSize(2).epochs(1).learningRate(1e-2).build());
        SiRecorder rec = SiRecorder.builder(model).build();
        t.addListener(rec);
        Random rnd = new Random(4);
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), 6));
        t.train(rows, LoraTrainer.Progress.NONE);
        Path work = Files.createTempDirectory("seeds");
        PeftAdapters.save(model, work.resolve("adapter"));
        seed("adapterWeightsRejectOrRead", "valid", Files.readAllBytes(work.resolve("adapter/adapter_model.safetensors")));
        seed("adapterConfigRejectsOrReads", "valid", Files.readAllBytes(work.resolve("adapter/adapter_config.json")));
        seed("adapterConfigRejectsOrReads", "regex-targets", """
                {"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":".*\\\\.(q|v)_proj","use_rslora":true}""".getBytes(StandardCharsets.UTF_8));
        Importance imp = rec.consolidate(LayerWeighting.AUTO, Map.of("seed", "fuzz"));
        imp.save(work.resolve("importance.safetensors"), DType.F16);
        seed("importanceFileRejectsOrReads", "valid-f16", Files.readAllBytes(work.resolve("importance.safetensors")));
        try (FisherEstimator fe = FisherEstimator.of(cfg, w)) {
            FisherInformation fi = fe.compute(rows.subList(0, 2), 2, (d, n) -> { });
            fi.save(work.resolve("fisher.safetensors"), DType.BF16);
        }
        seed("fisherFileRejectsOrReads", "valid-bf16", Files.readAllBytes(work.resolve("fisher.safetensors")));
        seed("datasetLoadersRejectOrLoad", "sciq", """
                {"question": "What gas do plants absorb?", "distractor1": "oxygen", "distractor2": "helium", "distractor3": "argon", "correct_answer": "carbon dioxide", "support": "Plants absorb carbon dioxide."}
                """.getBytes(StandardCharsets.UTF_8));
        seed("datasetLoadersRejectOrLoad", "piqa-combined", """
                {"goal": "Open a jar", "sol1": "Twist the lid.", "sol2": "Freeze the jar.", "label": 0}
                """.getBytes(StandardCharsets.UTF_8));
        seed("datasetLoadersRejectOrLoad", "medmcqa", """
                {"question": "Which vitamin is fat soluble?", "opa": "C", "opb": "B12", "opc": "D", "opd": "B1", "cop": 3}
                {"question": "Normal pH of blood?", "opa": "7.4", "opb": "6.8", "opc": "8.0", "opd": "7.0", "cop": 1}
                """.getBytes(StandardCharsets.UTF_8));
        seed("datasetLoadersRejectOrLoad", "text", "{\"text\": \"A line of text.\"}\nplain line\n".getBytes(StandardCharsets.UTF_8));
        java.io.ByteArrayOutputStream zst = new java.io.ByteArrayOutputStream();
        try (var out = new com.github.luben.zstd.ZstdOutputStream(zst)) {
            out.write("{\"text\": \"one document\", \"meta\": {\"pile_set_name\": \"Pile-CC\"}}\n{\"text\": \"two\"}\n".getBytes(StandardCharsets.UTF_8));
        }
        seed("pileReaderRejectsOrReads", "valid", zst.toByteArray());
        model.lm().close();
    }

    private static void seed(String method, String name, byte[] bytes) {
        try {
            Path dir = SEEDS.resolve(method);
            Files.createDirectories(dir);
            Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
