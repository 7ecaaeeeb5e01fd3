package org.silora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.silora.ewc.FisherInformation;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** silora eval, fisher and train-domain --method ewc on a tiny model. */
class EvalFisherCommandsTest extends CapturedCli {

    @TempDir
    Path tmp;

    private JsonNode run(String... args) throws Exception {
        int rc = execute(args);
        assertEquals(0, rc, String.join(" ", args) + "\n" + err);
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    private String fail(String... args) {
        int rc = execute(args);
        assertNotEquals(0, rc, String.join(" ", args));
        assertEquals("", out.toString(StandardCharsets.UTF_8));
        String e = err.toString(StandardCharsets.UTF_8).strip();
        String last = e.substring(e.lastIndexOf('\n') + 1);
        assertTrue(last.startsWith("silora "), e);
        return last;
    }

    static final String TEXT = """
            The committee said that the city should pay for the new roads before the end of the year.
            A man walked down the road to the old house, where his brother had lived for many years.
            Question: Where do fish live? Answer: In the water.
            """;

    private Path model() throws Exception {
        Path model = tmp.resolve("model");
        BpeTrainer.train(List.of(TEXT.repeat(3)), BpeTrainer.Options.llama(300), model);
        int vocab;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            vocab = tok.vocabSize();
        }
        ModelConfig cfg = new LlamaConfig(vocab, 32, 64, 2, 4, 2, 8, 1e-5, 10000, null, 128, false, false, false);
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 3), DType.F32, 1);
        return model;
    }

    @Test
    void evalEveryTask() throws Exception {
        Path model = model();
        Path piqa = tmp.resolve("valid.jsonl");
        Files.writeString(piqa, """
                {"goal": "Open a jar", "sol1": "Twist the lid.", "sol2": "Hit the lid."}
                {"goal": "Walk to the house", "sol1": "Use the road.", "sol2": "Fly."}
                {"goal": "Pay for roads", "sol1": "The city pays.", "sol2": "Nobody."}
                """);
        Files.writeString(tmp.resolve("valid-labels.lst"), "0\n0\n1\n");
        JsonNode p = run("eval", "--model", model.toString(), "--task", "piqa", "--data", piqa.toString(), "--batch-size", "4");
        assertEquals("piqa", p.get("task").asText());
        assertEquals(3, p.get("n").asInt());
        assertTrue(p.has("acc") && p.has("acc_norm"), p.toString());
        assertEquals(2, run("eval", "--model", model.toString(), "--task", "piqa", "--data", piqa.toString(), "--limit", "2").get("n").asInt());

        Path sciq = tmp.resolve("sciq.json");
        Files.writeString(sciq, "[{\"question\": \"Where do fish live?\", \"distractor1\": \"road\", \"distractor2\": \"house\", "
                + "\"distractor3\": \"city\", \"correct_answer\": \"water\", \"support\": \"Fish live in the water.\"}]");
        JsonNode s = run("eval", "--model", model.toString(), "--task", "sciq", "--data", sciq.toString());
        assertEquals(1, s.get("n").asInt());

        Path med = tmp.resolve("med.jsonl");
        Files.writeString(med, "{\"question\": \"q\", \"opa\": \"a\", \"opb\": \"b\", \"opc\": \"c\", \"opd\": \"d\", \"cop\": 0}\n");
        assertEquals(1, run("eval", "--model", model.toString(), "--task", "medmcqa", "--data", med.toString()).get("n").asInt());
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("0-based"));

        Path held = tmp.resolve("held.txt");
        Files.writeString(held, TEXT);
        JsonNode ppl = run("eval", "--model", model.toString(), "--task", "ppl", "--data", held.toString(), "--window", "16", "--stride", "8");
        assertEquals("ppl", ppl.get("task").asText());
        assertTrue(ppl.get("ppl").asDouble() > 1, ppl.toString());
        assertEquals(16, ppl.get("window").asInt());
        assertEquals(8, ppl.get("stride").asInt());
        assertTrue(ppl.get("tokens").asLong() > 20);

        Files.writeString(tmp.resolve("valid-labels.lst"), "0\n0\n");
        assertTrue(fail("eval", "--model", model.toString(), "--task", "piqa", "--data", piqa.toString()).contains("valid-labels.lst: has 2 labels"));
        Files.writeString(med, "{\"question\": \"q\", \"opa\": \"a\"}\n");
        assertTrue(fail("eval", "--model", model.toString(), "--task", "medmcqa", "--data", med.toString()).endsWith("med.jsonl: line 1: no field 'opb'"));
        assertTrue(fail("eval", "--model", model.toString(), "--task", "hellaswag", "--data", med.toString()).contains("--task must be"));
    }

    @Test
    void fisherThenEwc() throws Exception {
        Path model = model();
        Path pile = tmp.resolve("00.jsonl.zst");
        try (OutputStream o = new ZstdOutputStream(Files.newOutputStream(pile))) {
            for (String line : TEXT.split("\n")) {
                o.write(("{\"text\": \"" + line + "\", \"meta\": {}}\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        Path fisher = tmp.resolve("fisher.safetensors");
        JsonNode f = run("fisher", "--model", model.toString(), "--data", pile.toString(), "--out", fisher.toString(),
                "--samples", "6", "--seq-len", "8", "--batch-size", "4");
        assertEquals(6, f.get("samples").asInt());
        assertEquals(14, f.get("modules").asInt());
        assertEquals(Files.size(fisher), f.get("bytes").asLong());
        assertTrue(f.get("seconds").asDouble() > 0);
        FisherInformation fi = FisherInformation.load(fisher);
        assertTrue(fi.metadata().get("base_model_fingerprint").startsWith("sha256:"));

        Path domain = tmp.resolve("domain.txt");
        Files.writeString(domain, TEXT.repeat(2));
        String[] small = {"--seq-len", "16", "--batch-size", "4", "--epochs", "1", "--r", "2"};
        JsonNode d = run(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "ewc", "--fisher", fisher.toString(),
                "--ewc-lambda", "0.5", "--data", domain.toString(), "--out", tmp.resolve("ewc").toString()}, small));
        assertEquals("ewc", d.get("method").asText());
        assertEquals(0.5, d.get("ewc_lambda").asDouble());
        assertTrue(d.has("penalty_last"));
        assertTrue(Files.exists(tmp.resolve("ewc").resolve("adapter_model.safetensors")));
        JsonNode e = run("eval", "--model", model.toString(), "--adapter", tmp.resolve("ewc").toString(), "--task", "ppl",
                "--data", domain.toString(), "--window", "32");
        assertTrue(e.get("ppl").asDouble() > 1);

        assertTrue(fail("train-domain", "--model", model.toString(), "--method", "ewc", "--data", domain.toString(),
                "--out", tmp.resolve("x").toString()).contains("--method ewc needs --fisher"));
        // a Fisher of another base model is refused in one line
        Path other = tmp.resolve("other");
        Files.createDirectories(other);
        for (String n : new String[]{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json"}) {
            if (Files.exists(model.resolve(n))) Files.copy(model.resolve(n), other.resolve(n));
        }
        ModelConfig cfg = org.silora.hf.config.ModelConfigs.load(model);
        TinyModels.write(other, cfg, TinyModels.randomWeights(cfg, 99), DType.F32, 1);
        String msg = fail(concat(new String[]{"train-domain", "--model", other.toString(), "--method", "ewc", "--fisher", fisher.toString(),
                "--data", domain.toString(), "--out", tmp.resolve("y").toString()}, small));
        assertTrue(msg.contains("fisher.safetensors: was computed on another base model"), msg);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
