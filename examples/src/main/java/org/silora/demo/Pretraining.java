package org.silora.demo;

import org.silora.hf.AtomicFiles;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.graph.Weights;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;
import org.silora.lora.TrainingResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Pretrains a small LLaMA- or GPT-J-architecture model from scratch (all weights trainable) and writes it as a
 * Hugging Face checkpoint, so the whole import → LoRA → SI → eval path runs on a model that learned English.
 *
 * <pre>{@code
 * Map<String, INDArray> init = Pretraining.initialWeights(cfg, 42);
 * CausalLm lm = CausalLm.build(cfg, Weights.of(init), LinearFactory.BASE, true);
 * TrainingResult r = Pretraining.train(lm, rows, options, progress);
 * Pretraining.save(lm, cfg, outDir, DType.BF16, metadata);
 * }</pre>
 */
public final class Pretraining {

    private Pretraining() {
    }

    /** Hugging Face's initialisation: linear and embedding weights N(0, 0.02), norm weights 1, biases 0. */
    public static Map<String, INDArray> initialWeights(ModelConfig cfg, long seed) {
        Random rnd = new Random(seed);
        Map<String, INDArray> w = new LinkedHashMap<>();
        int h = cfg.hiddenSize();
        int v = cfg.vocabSize();
        int m = cfg.intermediateSize();
        if (cfg instanceof LlamaConfig c) {
            int q = c.numHeads() * c.headDim();
            int kv = c.numKeyValueHeads() * c.headDim();
            w.put("model.embed_tokens.weight", normal(rnd, v, h));
            for (int i = 0; i < c.numLayers(); i++) {
                String p = "model.layers." + i + ".";
                w.put(p + "input_layernorm.weight", Nd4j.ones(DataType.FLOAT, h));
                w.put(p + "self_attn.q_proj.weight", normal(rnd, q, h));
                w.put(p + "self_attn.k_proj.weight", normal(rnd, kv, h));
                w.put(p + "self_attn.v_proj.weight", normal(rnd, kv, h));
                w.put(p + "self_attn.o_proj.weight", normal(rnd, h, q));
                w.put(p + "post_attention_layernorm.weight", Nd4j.ones(DataType.FLOAT, h));
                w.put(p + "mlp.gate_proj.weight", normal(rnd, m, h));
                w.put(p + "mlp.up_proj.weight", normal(rnd, m, h));
                w.put(p + "mlp.down_proj.weight", normal(rnd, h, m));
            }
            w.put("model.norm.weight", Nd4j.ones(DataType.FLOAT, h));
            if (!c.tieWordEmbeddings()) w.put("lm_head.weight", normal(rnd, v, h));
        } else {
            GptjConfig c = (GptjConfig) cfg;
            w.put("transformer.wte.weight", normal(rnd, v, h));
            for (int i = 0; i < c.numLayers(); i++) {
                String p = "transformer.h." + i + ".";
                w.put(p + "ln_1.weight", Nd4j.ones(DataType.FLOAT, h));
                w.put(p + "ln_1.bias", Nd4j.zeros(DataType.FLOAT, h));
                for (String proj : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
                    w.put(p + "attn." + proj + ".weight", normal(rnd, h, h));
                }
                w.put(p + "mlp.fc_in.weight", normal(rnd, m, h));
                w.put(p + "mlp.fc_in.bias", Nd4j.zeros(DataType.FLOAT, m));
                w.put(p + "mlp.fc_out.weight", normal(rnd, h, m));
                w.put(p + "mlp.fc_out.bias", Nd4j.zeros(DataType.FLOAT, h));
            }
            w.put("transformer.ln_f.weight", Nd4j.ones(DataType.FLOAT, h));
            w.put("transformer.ln_f.bias", Nd4j.zeros(DataType.FLOAT, h));
            if (!c.tieWordEmbeddings()) w.put("lm_head.weight", normal(rnd, v, h));
            w.put("lm_head.bias", Nd4j.zeros(DataType.FLOAT, v));
        }
        return w;
    }

    private static INDArray normal(Random rnd, long rows, long cols) {
        float[] a = new float[(int) (rows * cols)];
        for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * 0.02);
        return Nd4j.create(a, new long[]{rows, cols}, 'c');
    }

    /** A model whose every base tensor is a trainable variable. */
    public static CausalLm trainableModel(ModelConfig cfg, Map<String, INDArray> weights) {
        return CausalLm.build(cfg, Weights.of(weights), LinearFactory.BASE, true);
    }

    /** Names of the trainable variables (all base tensors). */
    public static List<String> variables(CausalLm lm) {
        List<String> names = new ArrayList<>();
        for (SDVariable v : lm.sameDiff().variables()) {
            if (v.getVariableType() == VariableType.VARIABLE) names.add(v.name());
        }
        return names;
    }

    /** Trains every weight on {@code rows}. */
    public static TrainingResult train(CausalLm lm, List<int[]> rows, TrainingOptions options, LoraTrainer.Progress progress) {
        return LoraTrainer.forVariables(lm, variables(lm), options).train(rows, progress);
    }

    /**
     * Unigram perplexity of {@code heldOut} under token frequencies of {@code train} (add-one smoothing, over the
     * predicted positions): the baseline a pretrained model must beat.
     */
    public static double unigramPerplexity(List<int[]> train, List<int[]> heldOut, int vocab) {
        double[] counts = new double[vocab];
        double total = vocab;
        java.util.Arrays.fill(counts, 1.0);
        for (int[] r : train) {
            for (int i = 1; i < r.length; i++) {
                counts[r[i]]++;
                total++;
            }
        }
        double nll = 0;
        long n = 0;
        for (int[] r : heldOut) {
            for (int i = 1; i < r.length; i++) {
                nll -= Math.log(counts[r[i]] / total);
                n++;
            }
        }
        return Math.exp(nll / n);
    }

    /** Writes {@code config.json} and {@code model.safetensors} (tensors in {@code dtype}) atomically. */
    public static void save(CausalLm lm, ModelConfig cfg, Path dir, DType dtype, Map<String, String> metadata,
                            Map<String, Integer> extraConfig) throws IOException {
        Files.createDirectories(dir);
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        for (String n : variables(lm)) tensors.put(n, lm.graph().hfTensor(n));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.putAll(metadata);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), meta, tensors, dtype);
        com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode o = (com.fasterxml.jackson.databind.node.ObjectNode) om.readTree(ModelConfigs.toJson(cfg));
        o.put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : dtype == DType.F16 ? "float16" : "float32");
        extraConfig.forEach(o::put);
        AtomicFiles.writeString(dir.resolve("config.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    }
}
