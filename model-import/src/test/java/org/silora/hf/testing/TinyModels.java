package org.silora.hf.testing;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.RopeScaling;

import org.silora.hf.config.ModelConfigs;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Tiny random models in Hugging Face layout and naming, for tests: the tensor names are written out here by
 * hand from the Hugging Face modeling files, not taken from the builders.
 */
public final class TinyModels {

    private TinyModels() {
    }

    /** LLaMA with GQA (4 query heads, 2 key/value heads), explicit head_dim different from hidden/heads. */
    public static LlamaConfig llamaGqa() {
        return new LlamaConfig(61, 24, 40, 2, 4, 2, 8, 1e-5, 10000.0, RopeScaling.NONE, 128, false, false, false);
    }

    /** LLaMA 3.x style: tied embeddings, llama3 rope scaling, rope_theta 500000. */
    public static LlamaConfig llama3Tied() {
        RopeScaling s = new RopeScaling(RopeScaling.Type.LLAMA3, 8.0, 1.0, 4.0, 16);
        return new LlamaConfig(53, 16, 32, 2, 2, 1, 8, 1e-5, 500000.0, s, 128, true, false, false);
    }

    /** LLaMA with linear rope scaling and multi-head (no GQA) attention, with attention/MLP biases. */
    public static LlamaConfig llamaLinearBias() {
        RopeScaling s = new RopeScaling(RopeScaling.Type.LINEAR, 2.0, 0, 0, 0);
        return new LlamaConfig(37, 16, 24, 1, 2, 2, 8, 1e-6, 10000.0, s, 64, false, true, true);
    }

    /** GPT-J with partial rotary (rotary_dim 4 of head 8). */
    public static GptjConfig gptj() {
        return new GptjConfig(47, 16, 64, 2, 2, 4, 1e-5, 128, false);
    }

    /** Random weights named as Hugging Face names them. */
    public static Map<String, INDArray> randomWeights(ModelConfig cfg, long seed) {
        Random rnd = new Random(seed);
        Map<String, INDArray> w = new LinkedHashMap<>();
        int h = cfg.hiddenSize();
        int v = cfg.vocabSize();
        int m = cfg.intermediateSize();
        if (cfg instanceof LlamaConfig c) {
            int q = c.numHeads() * c.headDim();
            int kv = c.numKeyValueHeads() * c.headDim();
            w.put("model.embed_tokens.weight", normal(rnd, 1.0, v, h));
            for (int i = 0; i < c.numLayers(); i++) {
                String p = "model.layers." + i + ".";
                w.put(p + "input_layernorm.weight", around1(rnd, h));
                put(w, rnd, p + "self_attn.q_proj", q, h, c.attentionBias());
                put(w, rnd, p + "self_attn.k_proj", kv, h, c.attentionBias());
                put(w, rnd, p + "self_attn.v_proj", kv, h, c.attentionBias());
                put(w, rnd, p + "self_attn.o_proj", h, q, c.attentionBias());
                w.put(p + "post_attention_layernorm.weight", around1(rnd, h));
                put(w, rnd, p + "mlp.gate_proj", m, h, c.mlpBias());
                put(w, rnd, p + "mlp.up_proj", m, h, c.mlpBias());
                put(w, rnd, p + "mlp.down_proj", h, m, c.mlpBias());
            }
            w.put("model.norm.weight", around1(rnd, h));
            if (!c.tieWordEmbeddings()) w.put("lm_head.weight", normal(rnd, 1.0 / Math.sqrt(h), v, h));
        } else {
            GptjConfig c = (GptjConfig) cfg;
            w.put("transformer.wte.weight", normal(rnd, 1.0, v, h));
            for (int i = 0; i < c.numLayers(); i++) {
                String p = "transformer.h." + i + ".";
                w.put(p + "ln_1.weight", around1(rnd, h));
                w.put(p + "ln_1.bias", normal(rnd, 0.1, h));
                for (String proj : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
                    put(w, rnd, p + "attn." + proj, h, h, false);
                }
                put(w, rnd, p + "mlp.fc_in", m, h, true);
                put(w, rnd, p + "mlp.fc_out", h, m, true);
            }
            w.put("transformer.ln_f.weight", around1(rnd, h));
            w.put("transformer.ln_f.bias", normal(rnd, 0.1, h));
            if (!c.tieWordEmbeddings()) w.put("lm_head.weight", normal(rnd, 1.0 / Math.sqrt(h), v, h));
            w.put("lm_head.bias", normal(rnd, 0.1, v));
        }
        return w;
    }

    private static void put(Map<String, INDArray> w, Random rnd, String name, int out, int in, boolean bias) {
        w.put(name + ".weight", normal(rnd, 1.0 / Math.sqrt(in), out, in));
        if (bias) w.put(name + ".bias", normal(rnd, 0.1, out));
    }

    private static INDArray normal(Random rnd, double std, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        float[] a = new float[(int) n];
        for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * std);
        return Nd4j.create(a, shape, 'c');
    }

    private static INDArray around1(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (1.0 + 0.2 * rnd.nextGaussian());
        return Nd4j.create(a, new long[]{n}, 'c');
    }

    /**
     * Writes a Hugging Face model folder: {@code config.json} and the weights as {@code model.safetensors}, or,
     * with {@code shards > 1}, as {@code model-0000i-of-0000n.safetensors} plus {@code model.safetensors.index.json}.
     */
    public static void write(Path dir, ModelConfig cfg, Map<String, INDArray> weights, DType dtype, int shards) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), ModelConfigs.toJson(cfg));
        if (shards <= 1) {
            SafetensorsWriter.write(dir.resolve("model.safetensors"), Map.of("format", "pt"), weights, dtype);
            return;
        }
        List<String> names = new ArrayList<>(weights.keySet());
        StringBuilder index = new StringBuilder("{\"metadata\":{\"total_size\":0},\"weight_map\":{");
        for (int s = 0; s < shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            Map<String, INDArray> part = new LinkedHashMap<>();
            for (int i = s; i < names.size(); i += shards) {
                part.put(names.get(i), weights.get(names.get(i)));
                if (index.charAt(index.length() - 1) != '{') index.append(',');
                index.append('"').append(names.get(i)).append("\":\"").append(file).append('"');
            }
            SafetensorsWriter.write(dir.resolve(file), Map.of("format", "pt"), part, dtype);
        }
        index.append("}}");
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
    }

    /** Random token ids in [0, vocab). */
    public static int[] randomIds(Random rnd, int vocab, int length) {
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) ids[i] = rnd.nextInt(vocab);
        return ids;
    }
}
