package org.silora.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.hf.testing.ReferenceForward;
import org.silora.hf.testing.TinyModels;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeftAdaptersTest {

    @TempDir
    Path tmp;

    /** A model on disk with a LoRA whose B is non-zero (as after training). */
    private LoraModel trainedLike(ModelConfig cfg, Path base, LoraConfig lc) throws IOException {
        TinyModels.write(base, cfg, TinyModels.randomWeights(cfg, 8), DType.F32, 1);
        LoraModel m = LoraModel.create(base, lc, 3);
        Random rnd = new Random(2);
        for (LoraModule mod : m.modules().values()) {
            INDArray b = mod.b().getArr();
            for (long i = 0; i < b.length(); i++) b.putScalar(i, rnd.nextGaussian() * 0.3);
        }
        return m;
    }

    /** Logits from the independent reference forward on W0 + s·B·A computed here in double precision. */
    private static double[][] referenceMerged(ModelConfig cfg, Path base, LoraModel m, int[] ids) {
        Map<String, INDArray> w = new LinkedHashMap<>();
        try (var ckpt = org.silora.hf.safetensors.SafetensorsCheckpoint.open(base)) {
            for (String n : ckpt.names()) w.put(n, ckpt.readFloat(n).castTo(DataType.DOUBLE));
        }
        double s = m.config().scaling();
        for (LoraModule mod : m.modules().values()) {
            double[][] a = mod.a().getArr().castTo(DataType.DOUBLE).toDoubleMatrix();
            double[][] b = mod.b().getArr().castTo(DataType.DOUBLE).toDoubleMatrix();
            INDArray w0 = w.get(mod.name() + ".weight");
            double[][] merged = w0.toDoubleMatrix();
            for (int o = 0; o < merged.length; o++) {
                for (int i = 0; i < merged[o].length; i++) {
                    double d = 0;
                    for (int k = 0; k < a.length; k++) d += b[o][k] * a[k][i];
                    merged[o][i] += s * d;
                }
            }
            w.put(mod.name() + ".weight", Nd4j.createFromArray(merged));
        }
        return new ReferenceForward(cfg, w).logits(ids);
    }

    private static double maxDiff(double[][] ref, INDArray logits) {
        double worst = 0;
        for (int t = 0; t < ref.length; t++) {
            for (int v = 0; v < ref[t].length; v++) worst = Math.max(worst, Math.abs(ref[t][v] - logits.getDouble(0, t, v)));
        }
        return worst;
    }

    @Test
    void savedAdapterReloadsAndAdapterMergedAndReferenceAgree() throws IOException {
        Object[][] cases = {
                {TinyModels.llamaGqa(), LoraConfig.builder().r(4).loraAlpha(8).targetModules("q_proj", "v_proj", "o_proj", "up_proj", "down_proj").build()},
                {TinyModels.gptj(), LoraConfig.builder().r(4).loraAlpha(16).useRslora(true).targetModules("q_proj", "v_proj", "fc_in", "fc_out").build()},
                {TinyModels.llama3Tied(), LoraConfig.builder().r(2).targetModulesRegex(".*\\.(k_proj|gate_proj)").build()}};
        int c = 0;
        for (Object[] cs : cases) {
            ModelConfig cfg = (ModelConfig) cs[0];
            Path base = tmp.resolve("base" + c);
            Path adapter = tmp.resolve("adapter" + c);
            Path merged = tmp.resolve("merged" + c++);
            LoraModel m = trainedLike(cfg, base, (LoraConfig) cs[1]);
            int[] ids = TinyModels.randomIds(new Random(1), cfg.vocabSize(), 20);
            INDArray direct = m.lm().logits(new int[][]{ids});

            PeftAdapters.save(m, adapter);
            assertTrue(Files.exists(adapter.resolve("adapter_config.json")));
            LoraModel reloaded = PeftAdapters.load(base, adapter);
            assertEquals(m.modules().keySet(), reloaded.modules().keySet());
            INDArray viaAdapter = reloaded.lm().logits(new int[][]{ids});
            assertEquals(0.0, direct.sub(viaAdapter).amaxNumber().doubleValue(), 0.0, "reloaded adapter gives the same logits");

            MergedCheckpoints.write(reloaded, base, merged, null);
            INDArray viaMerge = CausalLm.load(merged).logits(new int[][]{ids});
            assertEquals(0.0, viaMerge.sub(viaAdapter).amaxNumber().doubleValue(), 2e-5, "merged = adapter");
            assertEquals(0.0, maxDiff(referenceMerged(cfg, base, reloaded, ids), viaAdapter), 1e-4, "adapter = independent reference");
            assertTrue(Files.exists(merged.resolve("config.json")));
        }
    }

    @Test
    void configIsWhatPeftWrites() throws IOException {
        ModelConfig cfg = TinyModels.llamaGqa();
        LoraModel m = trainedLike(cfg, tmp.resolve("b"), LoraConfig.builder().r(8).loraAlpha(32).useRslora(true).baseModelNameOrPath("tiny").build());
        PeftAdapters.save(m, tmp.resolve("a"));
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(tmp.resolve("a/adapter_config.json").toFile());
        assertEquals("LORA", json.get("peft_type").asText());
        assertEquals("CAUSAL_LM", json.get("task_type").asText());
        assertEquals(8, json.get("r").asInt());
        assertEquals(32.0, json.get("lora_alpha").asDouble());
        assertTrue(json.get("use_rslora").asBoolean());
        assertEquals("none", json.get("bias").asText());
        assertEquals(false, json.get("fan_in_fan_out").asBoolean());
        assertEquals("[\"q_proj\",\"v_proj\"]", json.get("target_modules").toString());
        assertEquals("tiny", json.get("base_model_name_or_path").asText());
        try (var f = org.silora.hf.safetensors.SafetensorsFile.open(tmp.resolve("a/adapter_model.safetensors"))) {
            assertEquals("pt", f.metadata().get("format"));
            assertTrue(f.tensors().containsKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
            assertEquals("[8, 24]", java.util.Arrays.toString(f.tensors().get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").shape()));
            assertEquals("[16, 8]", java.util.Arrays.toString(f.tensors().get("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight").shape()));
        }
    }

    /** An adapter laid out exactly as peft 0.13 saves one (config fields and key names), loads unchanged. */
    @Test
    void adapterInPeftsOwnLayoutLoads() throws IOException {
        ModelConfig cfg = TinyModels.gptj();
        Path base = tmp.resolve("base");
        TinyModels.write(base, cfg, TinyModels.randomWeights(cfg, 4), DType.F32, 1);
        Path a = tmp.resolve("peft");
        Files.createDirectories(a);
        Files.writeString(a.resolve("adapter_config.json"), """
                {
                  "alpha_pattern": {},
                  "auto_mapping": null,
                  "base_model_name_or_path": "EleutherAI/gpt-j-6b",
                  "bias": "none",
                  "eva_config": null,
                  "exclude_modules": null,
                  "fan_in_fan_out": false,
                  "inference_mode": true,
                  "init_lora_weights": true,
                  "layer_replication": null,
                  "layers_pattern": null,
                  "layers_to_transform": null,
                  "loftq_config": {},
                  "lora_alpha": 32,
                  "lora_bias": false,
                  "lora_dropout": 0.05,
                  "megatron_config": null,
                  "megatron_core": "megatron.core",
                  "modules_to_save": null,
                  "peft_type": "LORA",
                  "r": 8,
                  "rank_pattern": {},
                  "revision": null,
                  "target_modules": ["v_proj", "q_proj"],
                  "task_type": "CAUSAL_LM",
                  "use_dora": false,
                  "use_rslora": false
                }""");
        Map<String, INDArray> t = new LinkedHashMap<>();
        Random rnd = new Random(3);
        for (int l = 0; l < cfg.numLayers(); l++) {
            for (String p : new String[]{"q_proj", "v_proj"}) {
                String k = "base_model.model.transformer.h." + l + ".attn." + p;
                t.put(k + ".lora_A.weight", Nd4j.randn(DataType.FLOAT, 8, 16).muli(0.1));
                t.put(k + ".lora_B.weight", Nd4j.randn(DataType.FLOAT, 16, 8).muli(0.1));
            }
        }
        SafetensorsWriter.write(a.resolve("adapter_model.safetensors"), Map.of("format", "pt"), t, DType.F32);
        // lora_dropout applies only while training: loading for inference keeps the value but runs without it
        LoraConfig lc = PeftAdapters.readConfig(a);
        assertEquals(0.05, lc.loraDropout());
        assertEquals(4.0, lc.scaling());
        LoraModel m = PeftAdapters.load(base, a);
        assertEquals(4, m.modules().size());
        int[] ids = TinyModels.randomIds(new Random(9), cfg.vocabSize(), 12);
        assertEquals(0.0, maxDiff(referenceMerged(cfg, base, m, ids), m.lm().logits(new int[][]{ids})), 1e-4);
    }

    @Test
    void mismatchedAdaptersFailWithOneLine() throws IOException {
        ModelConfig cfg = TinyModels.llamaGqa();
        Path base = tmp.resolve("base");
        LoraModel m = trainedLike(cfg, base, LoraConfig.builder().r(4).build());
        Path good = tmp.resolve("good");
        PeftAdapters.save(m, good);

        // another base model with other shapes
        ModelConfig other = TinyModels.gptj();
        Path otherBase = tmp.resolve("other");
        TinyModels.write(otherBase, other, TinyModels.randomWeights(other, 1), DType.F32, 1);
        assertOneLine(assertThrows(ModelFormatException.class, () -> PeftAdapters.load(otherBase, good)), "does not fit the base model");

        // missing config
        Path noConfig = tmp.resolve("noconfig");
        Files.createDirectories(noConfig);
        Files.copy(good.resolve("adapter_model.safetensors"), noConfig.resolve("adapter_model.safetensors"));
        assertOneLine(assertThrows(ModelFormatException.class, () -> PeftAdapters.load(base, noConfig)), "adapter_config.json");

        // a tensor for a module the base lacks
        Path unknown = tmp.resolve("unknown");
        Files.createDirectories(unknown);
        Files.copy(good.resolve("adapter_config.json"), unknown.resolve("adapter_config.json"));
        Map<String, INDArray> t = new LinkedHashMap<>();
        for (int l = 0; l < 2; l++) {
            for (String p : new String[]{"q_proj", "v_proj"}) {
                LoraModule mod = m.modules().get("model.layers." + l + ".self_attn." + p);
                t.put("base_model.model." + mod.name() + ".lora_A.weight", mod.a().getArr());
                t.put("base_model.model." + mod.name() + ".lora_B.weight", mod.b().getArr());
            }
        }
        t.put("base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight", Nd4j.zeros(DataType.FLOAT, 4, 24));
        t.put("base_model.model.model.layers.7.self_attn.q_proj.lora_B.weight", Nd4j.zeros(DataType.FLOAT, 32, 4));
        SafetensorsWriter.write(unknown.resolve("adapter_model.safetensors"), Map.of("format", "pt"), t, DType.F32);
        assertOneLine(assertThrows(ModelFormatException.class, () -> PeftAdapters.load(base, unknown)), "model.layers.7.self_attn.q_proj");

        // rank in the file disagrees with r
        Path rank = tmp.resolve("rank");
        Files.createDirectories(rank);
        Files.copy(good.resolve("adapter_model.safetensors"), rank.resolve("adapter_model.safetensors"));
        Files.writeString(rank.resolve("adapter_config.json"), Files.readString(good.resolve("adapter_config.json")).replace("\"r\" : 4", "\"r\" : 6"));
        assertOneLine(assertThrows(ModelFormatException.class, () -> PeftAdapters.load(base, rank)), "r = 6");

        // DoRA is not LoRA
        Path dora = tmp.resolve("dora");
        Files.createDirectories(dora);
        Files.copy(good.resolve("adapter_model.safetensors"), dora.resolve("adapter_model.safetensors"));
        Files.writeString(dora.resolve("adapter_config.json"), Files.readString(good.resolve("adapter_config.json")).replace("\"use_dora\" : false", "\"use_dora\" : true"));
        assertOneLine(assertThrows(ModelFormatException.class, () -> PeftAdapters.load(base, dora)), "DoRA is not supported");
    }

    private static void assertOneLine(ModelFormatException e, String expected) {
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }
}
