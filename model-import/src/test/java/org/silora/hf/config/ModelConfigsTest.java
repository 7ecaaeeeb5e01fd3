package org.silora.hf.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.silora.hf.ModelFormatException;
import org.silora.hf.testing.TinyModels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigsTest {

    @TempDir
    Path dir;

    private ModelConfig read(String json) throws IOException {
        Files.writeString(dir.resolve("config.json"), json);
        return ModelConfigs.load(dir);
    }

    @Test
    void readsALlama32StyleConfigAsTransformersWrites() throws IOException {
        // the shape of meta-llama/Llama-3.2-1B's config.json (sizes shrunk)
        ModelConfig c = read("""
                {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
                 "bos_token_id":128000,"eos_token_id":128001,"head_dim":64,"hidden_act":"silu","hidden_size":256,
                 "initializer_range":0.02,"intermediate_size":512,"max_position_embeddings":131072,"mlp_bias":false,
                 "model_type":"llama","num_attention_heads":8,"num_hidden_layers":2,"num_key_value_heads":2,
                 "pretraining_tp":1,"rms_norm_eps":1e-05,
                 "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
                   "original_max_position_embeddings":8192,"rope_type":"llama3"},
                 "rope_theta":500000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
                 "transformers_version":"4.45.0.dev0","use_cache":true,"vocab_size":1000}""");
        LlamaConfig l = (LlamaConfig) c;
        assertEquals(64, l.headDim());
        assertEquals(4, l.groups());
        assertTrue(l.tieWordEmbeddings());
        assertEquals(RopeScaling.Type.LLAMA3, l.ropeScaling().type());
        assertEquals(8192, l.ropeScaling().originalMaxPositionEmbeddings());
        assertEquals(500000.0, l.ropeTheta());
    }

    @Test
    void readsAGptjConfigWithDefaults() throws IOException {
        GptjConfig g = (GptjConfig) read("""
                {"architectures":["GPTJForCausalLM"],"model_type":"gptj","vocab_size":100,"n_embd":64,
                 "n_layer":2,"n_head":4,"rotary_dim":8,"n_positions":512}""");
        assertEquals(256, g.intermediateSize());   // n_inner null -> 4 * n_embd
        assertEquals(16, g.headDim());
        assertEquals(1e-5, g.layerNormEpsilon());
        assertFalse(g.tieWordEmbeddings());
    }

    @Test
    void writtenConfigReadsBackEqual() throws IOException {
        for (ModelConfig c : new ModelConfig[]{TinyModels.llamaGqa(), TinyModels.llama3Tied(),
                TinyModels.llamaLinearBias(), TinyModels.gptj()}) {
            assertEquals(c, read(ModelConfigs.toJson(c)));
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"architectures\":[\"BertModel\"]}|unsupported architecture 'BertModel'",
            "{\"model_type\":\"mistral\"}|unsupported model_type 'mistral'",
            "{}|neither 'architectures' nor 'model_type'",
            "[1,2]|must be a JSON object",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":30,\"num_attention_heads\":4,\"vocab_size\":5,\"intermediate_size\":8,\"num_hidden_layers\":1}|not a multiple of num_attention_heads",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":32,\"num_attention_heads\":4,\"num_key_value_heads\":3,\"vocab_size\":5,\"intermediate_size\":8,\"num_hidden_layers\":1}|not a multiple of num_key_value_heads",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":32,\"num_attention_heads\":4,\"intermediate_size\":8,\"num_hidden_layers\":1}|missing 'vocab_size'",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":\"32\",\"num_attention_heads\":4,\"vocab_size\":5,\"intermediate_size\":8,\"num_hidden_layers\":1}|'hidden_size' must be an integer",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":32,\"num_attention_heads\":4,\"vocab_size\":5,\"intermediate_size\":8,\"num_hidden_layers\":-1}|num_hidden_layers must be positive",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":32,\"num_attention_heads\":4,\"vocab_size\":5,\"intermediate_size\":8,\"num_hidden_layers\":1,\"hidden_act\":\"gelu\"}|unsupported hidden_act 'gelu'",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":32,\"num_attention_heads\":4,\"vocab_size\":5,\"intermediate_size\":8,\"num_hidden_layers\":1,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}|unsupported rope_scaling type 'yarn'",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":32,\"num_attention_heads\":4,\"vocab_size\":5,\"intermediate_size\":8,\"num_hidden_layers\":1,\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}}|missing 'low_freq_factor'",
            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":32,\"num_attention_heads\":4,\"vocab_size\":5,\"intermediate_size\":8,\"num_hidden_layers\":1,\"num_hidden_layers\":2}|Duplicate field",
            "{\"architectures\":[\"GPTJForCausalLM\"],\"vocab_size\":5,\"n_embd\":30,\"n_layer\":1,\"n_head\":4}|not a multiple of n_head",
            "{\"architectures\":[\"GPTJForCausalLM\"],\"vocab_size\":5,\"n_embd\":32,\"n_layer\":1,\"n_head\":4,\"rotary_dim\":12}|rotary_dim must be even and in 1..8",
            "{\"architectures\":[\"GPTJForCausalLM\"],\"vocab_size\":5,\"n_embd\":32,\"n_layer\":1,\"n_head\":4,\"activation_function\":\"relu\"}|unsupported activation_function 'relu'",
            "{\"architectures\":[\"GPTJForCausalLM\"],\"vocab_size\":5,\"n_embd\":32,\"n_layer\":1,\"n_head\":4,\"layer_norm_epsilon\":1e400}|'layer_norm_epsilon' must be finite",
            "{not json|not valid JSON"})
    void badConfigsFailWithOneLineNamingFileAndProblem(String json, String expected) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> read(json));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json").toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void missingConfigIsAClearError() {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfigs.load(dir));
        assertTrue(e.getMessage().contains("config.json"));
    }

    @Test
    void llama3ScalingKeepsHighFrequenciesAndDividesLowOnes() {
        RopeScaling s = new RopeScaling(RopeScaling.Type.LLAMA3, 8.0, 1.0, 4.0, 8192);
        // wavelength 2π/f: < 8192/4 = 2048 untouched, > 8192 divided by 8, between: smoothed
        double high = 2 * Math.PI / 100;     // wavelength 100
        double low = 2 * Math.PI / 20000;    // wavelength 20000
        double mid = 2 * Math.PI / 4096;     // wavelength 4096: smooth = (8192/4096 - 1) / 3 = 1/3
        double[] out = s.scale(new double[]{high, low, mid});
        assertEquals(high, out[0], 0);
        assertEquals(low / 8, out[1], 1e-18);
        assertEquals((1 - 1.0 / 3) * mid / 8 + (1.0 / 3) * mid, out[2], 1e-15);
    }
}
