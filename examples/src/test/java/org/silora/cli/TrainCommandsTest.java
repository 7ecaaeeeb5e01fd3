package org.silora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.si.Importance;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Phase ν then every phase-μ method from the command line, on real text and a tiny model. */
class TrainCommandsTest extends CapturedCli {

    @TempDir
    Path tmp;

    private JsonNode run(String... args) throws Exception {
        int rc = execute(args);
        assertEquals(0, rc, String.join(" ", args) + "\n" + err);
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void generalThenDomainWithEveryMethod() throws Exception {
        Path general = tmp.resolve("general.txt");
        Files.writeString(general, """
                The committee said that the city should pay for the new roads before the end of the year.
                It added that the work would be done by the state and by the county together.

                A man walked down the road to the old house, where his brother had lived for many years.
                The house was quiet, and the garden had grown wild in the long summer.

                Music and art were part of every school day, the teachers said, and the children agreed.
                """.repeat(3));
        Path domain = tmp.resolve("domain.jsonl");
        Files.writeString(domain, """
                {"text":"Appendicitis is a disease: inflammation of the vermiform appendix."}
                {"text":"Insulin is a hormone: a hormone secreted by the islets of Langerhans."}
                {"text":"Femur is a leg bone: the longest and thickest bone of the human skeleton."}
                {"text":"Aspirin is a drug: the acetylated derivative of salicylic acid, used as an analgesic."}
                """.repeat(3));
        Path model = tmp.resolve("model");
        BpeTrainer.train(List.of(Files.readString(general), Files.readString(domain)), BpeTrainer.Options.llama(300), model);
        int vocab;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            vocab = tok.vocabSize();
        }
        ModelConfig cfg = new LlamaConfig(vocab, 32, 64, 2, 4, 2, 8, 1e-5, 10000, null, 256, false, false, false);
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 3), DType.F32, 1);
        String[] small = {"--seq-len", "32", "--batch-size", "4", "--epochs", "2", "--lr", "3e-3"};

        Path nu = tmp.resolve("nu");
        JsonNode g = run(concat(new String[]{"train-general", "--model", model.toString(), "--data", general.toString(),
                "--out", nu.toString(), "--si-mode", "exact", "--r", "4"}, small));
        for (String k : new String[]{"omega_sum", "loss_drop", "steps", "tokens", "seconds"}) assertTrue(g.has(k), k + " in " + g);
        assertTrue(g.get("loss_drop").asDouble() > 0, g.toString());
        assertTrue(g.get("omega_sum").asDouble() > 0, g.toString());
        assertEquals(4, g.get("lambda").size());
        assertEquals("direct", g.get("engine").asText());
        // the same run through SameDiff's gradient pass: the same ν phase within float rounding
        out.reset();
        JsonNode gs = run(concat(new String[]{"train-general", "--model", model.toString(), "--data", general.toString(),
                "--out", tmp.resolve("nu-samediff").toString(), "--si-mode", "exact", "--r", "4", "--engine", "samediff"}, small));
        assertEquals("samediff", gs.get("engine").asText());
        for (String k : new String[]{"loss_after", "omega_sum"}) {
            double a = g.get(k).asDouble();
            double b = gs.get(k).asDouble();
            assertTrue(Math.abs(a - b) <= 1e-3 * Math.abs(a), k + ": direct " + a + ", samediff " + b);
        }
        // the Pile's form (.jsonl.zst) reads through the same reader as fisher and eval
        Path pile = tmp.resolve("general.jsonl.zst");
        try (java.io.OutputStream o = new com.github.luben.zstd.ZstdOutputStream(Files.newOutputStream(pile))) {
            for (String d : org.silora.io.TextDocuments.read(general)) {
                o.write(new ObjectMapper().createObjectNode().put("text", d).toString().concat("\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        out.reset();
        JsonNode gz = run(concat(new String[]{"train-general", "--model", model.toString(), "--data", pile.toString(),
                "--out", tmp.resolve("nu-zst").toString(), "--r", "4", "--max-rows", "4"}, small));
        assertTrue(gz.get("steps").asInt() > 0, gz.toString());
        // EXACT recording with gradient accumulation (the library sums delta^T x over micro-batches)
        out.reset();
        JsonNode ga2 = run(concat(new String[]{"train-general", "--model", model.toString(), "--data", general.toString(),
                "--out", tmp.resolve("nu-accum").toString(), "--r", "4", "--si-mode", "exact", "--max-rows", "8"},
                new String[]{"--seq-len", "32", "--batch-size", "2", "--grad-accum", "2", "--epochs", "1", "--lr", "3e-3"}));
        assertTrue(ga2.get("omega_sum").asDouble() != 0, ga2.toString());
        // options a method would ignore are refused, in one line: LoRA options with --method si (it continues from
        // the nu adapter in the importance file), --tau with si-no-layer
        for (String[] bad : new String[][]{
                {"train-domain", "--model", model.toString(), "--method", "si", "--importance", nu.resolve("importance.safetensors").toString(),
                        "--data", domain.toString(), "--out", tmp.resolve("ign1").toString(), "--r", "16"},
                {"train-domain", "--model", model.toString(), "--method", "si-no-layer", "--importance", nu.resolve("importance.safetensors").toString(),
                        "--data", domain.toString(), "--out", tmp.resolve("ign2").toString(), "--tau", "2"}}) {
            err.reset();
            assertEquals(1, SiloraMain.execute(concat(bad, small)), String.join(" ", bad));
            assertEquals(1, err.toString().strip().lines().count(), err.toString());
            assertTrue(err.toString().contains("--r is not used") || err.toString().contains("drop --tau"), err.toString());
        }
        // an --out that is a file is refused before any work, in one line
        Path file = Files.writeString(tmp.resolve("outfile.txt"), "x");
        for (String cmd : new String[]{"train-general", "train-domain"}) {
            err.reset();
            String[] args = cmd.equals("train-general")
                    ? new String[]{cmd, "--model", model.toString(), "--data", general.toString(), "--out", file.toString()}
                    : new String[]{cmd, "--model", model.toString(), "--method", "lora", "--data", domain.toString(), "--out", file.toString()};
            assertEquals(1, SiloraMain.execute(concat(args, small)));
            assertEquals(1, err.toString().strip().lines().count(), err.toString());
            assertTrue(err.toString().contains("exists and is not a folder"), err.toString());
        }
        err.reset();
        assertEquals(1, SiloraMain.execute(concat(new String[]{"train-general", "--model", model.toString(), "--data", general.toString(),
                "--out", tmp.resolve("nu-bad").toString(), "--engine", "fast"}, small)));
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
        assertTrue(err.toString().contains("--engine must be auto, direct or samediff"), err.toString());
        assertTrue(Files.exists(nu.resolve("adapter_config.json")));
        assertTrue(Files.exists(nu.resolve("adapter_model.safetensors")));
        Importance imp = Importance.load(nu.resolve("importance.safetensors"));
        assertEquals("EXACT", imp.metadata().get("mode"));
        assertTrue(imp.metadata().get("base_model_fingerprint").startsWith("sha256:"));

        for (String method : new String[]{"si", "si-no-layer"}) {
            JsonNode d = run(concat(new String[]{"train-domain", "--model", model.toString(), "--method", method,
                    "--importance", nu.resolve("importance.safetensors").toString(), "--phi", "1e-3",
                    "--data", domain.toString(), "--out", tmp.resolve(method).toString()}, small));
            assertEquals(method, d.get("method").asText());
            assertTrue(d.get("steps").asInt() > 0);
            assertTrue(d.has("penalty_last"));
            assertTrue(Files.exists(tmp.resolve(method).resolve("adapter_model.safetensors")));
        }
        JsonNode viaAdapter = run(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "lora",
                "--adapter", nu.toString(), "--data", domain.toString(), "--out", tmp.resolve("lora_nu_mu").toString()}, small));
        assertEquals("lora", viaAdapter.get("method").asText());
        run(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "rslora",
                "--data", domain.toString(), "--out", tmp.resolve("rslora").toString()}, small));
        out.reset();
        JsonNode viaFlag = run(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "lora", "--use-rslora",
                "--data", domain.toString(), "--out", tmp.resolve("lora-rs").toString()}, small));
        assertEquals("rslora", viaFlag.get("method").asText(), "--method lora --use-rslora trains rsLoRA and says so");
        String cfgJson = Files.readString(tmp.resolve("rslora").resolve("adapter_config.json"));
        assertTrue(cfgJson.contains("\"use_rslora\" : true"), cfgJson);

        // the importance of another base model is refused
        Path other = tmp.resolve("other");
        BpeTrainer.train(List.of(Files.readString(general)), BpeTrainer.Options.llama(300), other);
        TinyModels.write(other, cfg, TinyModels.randomWeights(cfg, 99), DType.F32, 1);
        out.reset();
        err.reset();
        int rc = SiloraMain.execute(concat(new String[]{"train-domain", "--model", other.toString(), "--method", "si",
                "--importance", nu.resolve("importance.safetensors").toString(), "--data", domain.toString(),
                "--out", tmp.resolve("x").toString()}, small));
        assertEquals(1, rc);
        assertTrue(err.toString().contains("another base model"), err.toString());
        assertEquals(1, SiloraMain.execute("train-domain", "--model", model.toString(), "--method", "si",
                "--data", domain.toString(), "--out", tmp.resolve("y").toString()));

        // the authors' recipe: recorded by train-general, used by train-domain; mixed or overridden settings are refused
        out.reset();
        Path nuA = tmp.resolve("nu-authors");
        JsonNode ga = run(concat(new String[]{"train-general", "--model", model.toString(), "--data", general.toString(),
                "--out", nuA.toString(), "--si-recipe", "authors", "--r", "4"}, small));
        assertEquals("authors", ga.get("si_recipe").asText());
        assertEquals("1.0E8", ga.get("tau_used").asText());
        Importance ia = Importance.load(nuA.resolve("importance.safetensors"));
        assertEquals("authors", ia.metadata().get("recipe"));
        assertEquals("1.0E-9", ia.metadata().get("xi"));
        assertEquals("2", ia.metadata().get("epochs_accumulated"));
        out.reset();
        JsonNode da = run(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "si", "--si-recipe", "authors",
                "--importance", nuA.resolve("importance.safetensors").toString(), "--data", domain.toString(),
                "--out", tmp.resolve("si-authors").toString()}, small));
        assertTrue(da.get("steps").asInt() > 0);
        for (String[] bad : new String[][]{
                {"train-general", "--model", model.toString(), "--data", general.toString(), "--out", tmp.resolve("z1").toString(),
                        "--si-recipe", "authors", "--xi", "1e-8"},
                {"train-domain", "--model", model.toString(), "--method", "si", "--si-recipe", "authors", "--importance",
                        nu.resolve("importance.safetensors").toString(), "--data", domain.toString(), "--out", tmp.resolve("z2").toString()},
                {"train-domain", "--model", model.toString(), "--method", "si-no-layer", "--si-recipe", "authors", "--importance",
                        nuA.resolve("importance.safetensors").toString(), "--data", domain.toString(), "--out", tmp.resolve("z3").toString()}}) {
            err.reset();
            assertEquals(1, SiloraMain.execute(concat(bad, small)), String.join(" ", bad));
            assertEquals(1, err.toString().strip().lines().count(), err.toString());
            assertTrue(err.toString().contains("recipe"), err.toString());
        }
    }

    /**
     * SI's path-integral identity through {@code train-general} (SPEC §2): in EXACT mode, Σ_i ω_i, the raw path integral
     * {@code −Σ_t ∂L/∂W(t)·ΔW(t)} that the JSON reports as {@code omega_sum}, approximates L(t0) − L(tν), the JSON's
     * {@code loss_drop}. {@code importance.safetensors} cannot show this: it stores Ω = max(0, ω)/(Δν² + ξ), not ω.
     */
    @Test
    void exactModeOmegaSumMatchesTheLossDrop() throws Exception {
        Path general = tmp.resolve("general.txt");
        Files.writeString(general, """
                The committee said that the city should pay for the new roads before the end of the year.
                It added that the work would be done by the state and by the county together.

                A man walked down the road to the old house, where his brother had lived for many years.
                The house was quiet, and the garden had grown wild in the long summer.
                """.repeat(3));
        Path model = tmp.resolve("model");
        BpeTrainer.train(List.of(Files.readString(general)), BpeTrainer.Options.llama(300), model);
        int vocab;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            vocab = tok.vocabSize();
        }
        ModelConfig cfg = new LlamaConfig(vocab, 32, 64, 2, 4, 2, 8, 1e-5, 10000, null, 256, false, false, false);
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 3), DType.F32, 1);
        // One batch holds every row (--max-rows = --batch-size), so each step's gradient is the gradient of the very
        // loss that loss_drop measures; with mini-batches Σω would integrate other batches' gradients and the identity
        // would hold only on average. Each step then gives −g(t)·ΔW(t) = L(t) − L(t+1) + ½ΔWᵀ·H·ΔW + O(ΔW³): Σω and the
        // drop differ by second-order terms only. Adam moves each LoRA factor by about η a step, so along a path of
        // fixed length (η·steps = 0.02 here) 1/η terms of size η² sum to a gap proportional to η: halving η with twice the steps must
        // about halve the gap. That is the check, with both gaps within 2 % of the drop: a first-order error (ω on a
        // wrong scale, PAPER's g̃ in place of ∂L/∂W, a drop measured on other rows) neither stays that small nor halves.
        double[] gap = new double[2];
        String[][] runs = {{"1e-3", "20"}, {"5e-4", "40"}};
        for (int k = 0; k < runs.length; k++) {
            JsonNode g = run("train-general", "--model", model.toString(), "--data", general.toString(),
                    "--out", tmp.resolve("nu-identity-" + k).toString(), "--si-mode", "exact", "--r", "4",
                    "--seq-len", "32", "--max-rows", "4", "--batch-size", "4", "--epochs", runs[k][1], "--lr", runs[k][0]);
            assertEquals(Integer.parseInt(runs[k][1]), g.get("steps").asInt(), g.toString());
            double drop = g.get("loss_drop").asDouble();
            assertTrue(drop > 0.05, "training lowered the loss enough to compare: " + g);
            gap[k] = g.get("omega_sum").asDouble() - drop;
            assertEquals(0, gap[k] / drop, 0.02, "(omega_sum − loss_drop)/loss_drop at lr " + runs[k][0] + ": " + g);
        }
        double ratio = gap[0] / gap[1];
        assertTrue(ratio > 1.4 && ratio < 2.8, "the gap is second order: halving the step should halve it; gaps "
                + gap[0] + " (lr 1e-3) and " + gap[1] + " (lr 5e-4)");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
