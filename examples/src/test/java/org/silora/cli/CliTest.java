package org.silora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line as a user runs it: JSON on stdout, one-line errors on stderr, exit codes. */
class CliTest extends CapturedCli {

    @TempDir
    Path tmp;

    private int run(String... args) {
        return execute(args);
    }

    @Test
    void logitsPrintsFullVocabularyRowsMatchingTheLibrary() throws Exception {
        ModelConfig cfg = TinyModels.llamaGqa();
        Path model = tmp.resolve("m");
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 1), DType.BF16, 1);
        assertEquals(0, run("logits", "--model", model.toString(), "--ids", "1,5,7,2"), err.toString());
        JsonNode json = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertEquals("[1,5,7,2]", json.get("ids").toString());
        assertEquals(4, json.get("logits").size());
        assertEquals(cfg.vocabSize(), json.get("logits").get(0).size());
        INDArray expected = CausalLm.load(model).logits(new int[][]{{1, 5, 7, 2}});
        for (int t = 0; t < 4; t++) {
            for (int v = 0; v < cfg.vocabSize(); v++) {
                assertEquals(expected.getFloat(0, t, v), json.get("logits").get(t).get(v).floatValue(), 0f);
            }
        }
    }

    @Test
    void logitsTokenizesTextAndAppliesAnAdapter() throws Exception {
        Path model = tmp.resolve("m");
        BpeTrainer.train(List.of("the cat sat on the mat. the dog sat on the log. a cat and a dog."), BpeTrainer.Options.llama(280), model);
        int vocab;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            vocab = tok.vocabSize();
        }
        ModelConfig cfg = new org.silora.hf.config.LlamaConfig(vocab, 16, 32, 1, 2, 1, 8, 1e-5, 10000, null, 64, true, false, false);
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 2), DType.F32, 1);
        assertEquals(0, run("logits", "--model", model.toString(), "--text", "the cat sat"), err.toString());
        JsonNode plain = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertEquals(1, plain.get("ids").get(0).asInt(), "LLaMA-style tokenizer adds BOS <s> = 1");

        LoraModel lora = LoraModel.create(model, LoraConfig.builder().r(2).build(), 1);
        for (LoraModule m : lora.modules().values()) m.b().getArr().assign(0.5);
        Path adapter = tmp.resolve("a");
        PeftAdapters.save(lora, adapter);
        assertEquals(0, run("logits", "--model", model.toString(), "--adapter", adapter.toString(), "--text", "the cat sat"), err.toString());
        JsonNode adapted = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertEquals(plain.get("ids"), adapted.get("ids"));
        assertTrue(Math.abs(plain.get("logits").get(1).get(3).floatValue() - adapted.get("logits").get(1).get(3).floatValue()) > 1e-4);

        Path merged = tmp.resolve("merged");
        assertEquals(0, run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--out", merged.toString()), err.toString());
        assertTrue(Files.exists(merged.resolve("tokenizer.json")));
        assertEquals(0, run("logits", "--model", merged.toString(), "--text", "the cat sat"), err.toString());
        JsonNode viaMerge = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        for (int t = 0; t < viaMerge.get("logits").size(); t++) {
            for (int v = 0; v < vocab; v++) {
                assertEquals(adapted.get("logits").get(t).get(v).floatValue(), viaMerge.get("logits").get(t).get(v).floatValue(), 2e-5);
            }
        }
    }

    @Test
    void badInputGivesOneLineAndNonZeroExit() throws Exception {
        assertEquals(1, run("logits", "--model", tmp.resolve("nope").toString(), "--ids", "1"));
        assertOneErrorLine("logits", "no such folder");

        Path model = tmp.resolve("m");
        ModelConfig cfg = TinyModels.gptj();
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 1), DType.F32, 1);
        assertEquals(1, run("logits", "--model", model.toString(), "--ids", "1,999"));
        assertOneErrorLine("logits", "token id 999 outside the vocabulary");

        Files.write(model.resolve("model.safetensors"), new byte[]{1, 2, 3});
        assertEquals(1, run("logits", "--model", model.toString(), "--ids", "1"));
        assertOneErrorLine("logits", "model.safetensors");

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertEquals(1, run("demo", "--quick", "--out", file.toString()));
        assertOneErrorLine("demo", "exists and is not a folder");
        assertEquals(1, run("demo", "--quick", "--workers", "0"));
        assertOneErrorLine("demo", "--workers must be >= 1");

        assertEquals(2, run("logits", "--ids", "1"));   // picocli: missing --model
        assertEquals(2, run("bench", "--no-such-flag"));
        assertEquals(0, out.size(), "nothing on stdout for a bad command line");
    }

    private void assertOneErrorLine(String cmd, String expected) {
        String e = err.toString(StandardCharsets.UTF_8).strip();
        assertTrue(e.startsWith("silora " + cmd + ": error: "), e);
        assertTrue(e.contains(expected), e);
        assertEquals(1, e.lines().count(), e);
        assertEquals(0, out.size());
    }

    @Test
    void helpListsEveryCommandOfTheSpecification() {
        assertEquals(0, run("--help"));
        String help = out.toString(StandardCharsets.UTF_8);
        for (String c : new String[]{"demo", "logits", "merge", "train-general", "train-domain", "fisher", "eval", "continual-mnist", "bench"}) {
            assertTrue(help.contains(c), c + " in " + help);
        }
    }
}
