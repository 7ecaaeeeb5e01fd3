package org.silora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.PeftAdapters;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code silora dial} and {@code train-domain --general-budget} from the command line on a tiny model and real text. */
class ControlCommandsTest extends CapturedCli {

    @TempDir
    static Path tmp;

    private static Path model;
    private static Path general;
    private static Path probe;
    private static Path domain;
    private static final String[] SMALL = {"--seq-len", "32", "--batch-size", "4", "--epochs", "2", "--lr", "3e-3"};

    @BeforeAll
    static void model() throws Exception {
        general = tmp.resolve("general.txt");
        Files.writeString(general, """
                The committee said that the city should pay for the new roads before the end of the year.
                It added that the work would be done by the state and by the county together.

                A man walked down the road to the old house, where his brother had lived for many years.
                The house was quiet, and the garden had grown wild in the long summer.
                """.repeat(3));
        probe = tmp.resolve("probe.txt");
        Files.writeString(probe, """
                Music and art were part of every school day, the teachers said, and the children agreed.
                The river ran past the mill and under the bridge, and the boys fished there every evening.
                """.repeat(2));
        domain = tmp.resolve("domain.jsonl");
        Files.writeString(domain, """
                {"text":"Appendicitis is a disease: inflammation of the vermiform appendix."}
                {"text":"Insulin is a hormone: a hormone secreted by the islets of Langerhans."}
                {"text":"Femur is a leg bone: the longest and thickest bone of the human skeleton."}
                """.repeat(3));
        model = tmp.resolve("model");
        BpeTrainer.train(List.of(Files.readString(general), Files.readString(probe), Files.readString(domain)), BpeTrainer.Options.llama(300), model);
        int vocab;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            vocab = tok.vocabSize();
        }
        ModelConfig cfg = new LlamaConfig(vocab, 32, 64, 2, 4, 2, 8, 1e-5, 10000, null, 256, false, false, false);
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 3), DType.F32, 1);
    }

    private JsonNode run(String... args) throws Exception {
        int rc = execute(args);
        assertEquals(0, rc, String.join(" ", args) + "\n" + err);
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = new String[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private Path phaseNu(String name) throws Exception {
        Path nu = tmp.resolve(name);
        if (!Files.exists(nu.resolve("importance.safetensors"))) {
            run(concat(new String[]{"train-general", "--model", model.toString(), "--data", general.toString(), "--out", nu.toString(), "--r", "4"}, SMALL));
        }
        return nu;
    }

    private static float[] tensor(Path dir, String name) {
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            return c.readFloat(name).castTo(DataType.FLOAT).dup('c').data().asFloat();
        }
    }

    @Test
    void dialAtStrengthZeroIsTheMergedMuModelAndRankedAdapterReportsItsError() throws Exception {
        Path nu = phaseNu("nu-dial");
        Path mu = tmp.resolve("mu");
        run(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "lora", "--adapter", nu.toString(),
                "--data", domain.toString(), "--out", mu.toString()}, SMALL));
        Path merged = tmp.resolve("merged");
        run("merge", "--model", model.toString(), "--adapter", mu.toString(), "--out", merged.toString());
        Path d0 = tmp.resolve("dial0");
        JsonNode j0 = run("dial", "--model", model.toString(), "--adapter", mu.toString(), "--importance",
                nu.resolve("importance.safetensors").toString(), "--strength", "0", "--out", d0.toString());
        assertEquals(1.0, j0.get("kept_fraction").asDouble(), 0, j0.toString());
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(merged)) {
            for (String n : c.names()) assertArrayEquals(tensor(merged, n), tensor(d0, n), 0f, n);
        }
        Path d2 = tmp.resolve("dial2");
        JsonNode j2 = run("dial", "--model", model.toString(), "--adapter", mu.toString(), "--importance",
                nu.resolve("importance.safetensors").toString(), "--strength", "2", "--rank", "4", "--out", d2.toString());
        double kept = j2.get("kept_fraction").asDouble();
        assertTrue(kept > 0 && kept < 1, j2.toString());
        assertEquals(4, PeftAdapters.readConfig(d2.resolve("adapter")).r());
        double err2 = j2.get("svd_relative_error").asDouble();
        assertTrue(err2 >= 0 && err2 < 1, j2.toString());
        assertEquals(PeftAdapters.readFactors(mu).size(), j2.get("svd_relative_error_per_module").size());
        // the uniform rescale at alpha 1 is the mu model too
        Path u1 = tmp.resolve("uniform1");
        run("dial", "--model", model.toString(), "--adapter", mu.toString(), "--importance",
                nu.resolve("importance.safetensors").toString(), "--uniform", "1", "--out", u1.toString());
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(merged)) {
            for (String n : c.names()) assertArrayEquals(tensor(merged, n), tensor(u1, n), 0f, n);
        }
        // refusals, one line each, nothing written
        Path bad = tmp.resolve("bad");
        assertEquals(1, execute("dial", "--model", model.toString(), "--adapter", mu.toString(), "--importance",
                nu.resolve("importance.safetensors").toString(), "--strength", "1", "--uniform", "0.5", "--out", bad.toString()), err.toString());
        assertTrue(err.toString().contains("exactly one of --strength"), err.toString());
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
        assertFalse(Files.exists(bad.resolve("model.safetensors")));
        assertEquals(1, execute("dial", "--model", model.toString(), "--adapter", mu.toString(), "--importance",
                nu.resolve("importance.safetensors").toString(), "--strength", "-1", "--out", bad.toString()), err.toString());
        assertTrue(err.toString().contains("--strength must be"), err.toString());
    }

    @Test
    void aSecondGeneralPhaseAddsItsOmegaAndMovesTheAnchor() throws Exception {
        Path nu1 = phaseNu("nu-phase1");
        Path nu2 = tmp.resolve("nu-phase2");
        JsonNode j = run(concat(new String[]{"train-general", "--model", model.toString(), "--data", probe.toString(), "--out", nu2.toString(),
                "--importance", nu1.resolve("importance.safetensors").toString(), "--weight-decay", "0.01"}, SMALL));
        assertTrue(j.get("steps").asInt() > 0, j.toString());
        var first = org.silora.si.Importance.load(nu1.resolve("importance.safetensors"));
        var second = org.silora.si.Importance.load(nu2.resolve("importance.safetensors"));
        var adapter = PeftAdapters.readFactors(nu2);
        boolean grew = false;
        for (var e : first.modules().entrySet()) {
            float[] o1 = e.getValue().omega().castTo(DataType.FLOAT).dup('c').data().asFloat();
            var m2 = second.modules().get(e.getKey());
            float[] o2 = m2.omega().castTo(DataType.FLOAT).dup('c').data().asFloat();
            for (int i = 0; i < o1.length; i++) {
                assertTrue(o2[i] >= o1[i] * (1 - 1e-6f), e.getKey() + "[" + i + "]: Omega after two phases is Omega1 + a non-negative Omega2");
                grew |= o2[i] > o1[i] * (1 + 1e-4f);
            }
            // the anchor is the second phase's adapter
            assertArrayEquals(adapter.get(e.getKey())[0].castTo(DataType.FLOAT).dup('c').data().asFloat(),
                    m2.anchorA().castTo(DataType.FLOAT).dup('c').data().asFloat(), 0f);
            assertArrayEquals(adapter.get(e.getKey())[1].castTo(DataType.FLOAT).dup('c').data().asFloat(),
                    m2.anchorB().castTo(DataType.FLOAT).dup('c').data().asFloat(), 0f);
        }
        assertTrue(grew, "the second phase added importance somewhere");
        // LoRA options would be ignored: refused
        assertEquals(1, execute(concat(new String[]{"train-general", "--model", model.toString(), "--data", probe.toString(), "--out",
                tmp.resolve("x4").toString(), "--importance", nu1.resolve("importance.safetensors").toString(), "--r", "8"}, SMALL)), err.toString());
        assertTrue(err.toString().contains("--r is not used with --importance"), err.toString());
        assertEquals(1, execute(concat(new String[]{"train-general", "--model", model.toString(), "--data", probe.toString(), "--out",
                tmp.resolve("x5").toString(), "--weight-decay", "-1"}, SMALL)), err.toString());
        assertTrue(err.toString().contains("--weight-decay must be >= 0"), err.toString());
    }

    @Test
    void generalBudgetReportsItsTrajectoryAndRefusesWhereItCannotWork() throws Exception {
        Path nu = phaseNu("nu-budget");
        Path out = tmp.resolve("mu-budget");
        JsonNode j = run(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "si", "--importance",
                nu.resolve("importance.safetensors").toString(), "--data", domain.toString(), "--out", out.toString(),
                "--general-budget", "0.05", "--general-probe", probe.toString(), "--budget-every", "1", "--phi", "1"}, SMALL));
        int steps = j.get("steps").asInt();
        assertEquals(steps, j.get("coefficient_trajectory").size(), j.toString());
        assertEquals(0.05, j.get("general_budget").asDouble(), 0);
        for (String k : new String[]{"base_probe_loss", "final_delta_loss", "final_coefficient", "budget_kept"}) assertTrue(j.has(k), k + " in " + j);
        assertEquals(j.get("final_delta_loss").asDouble() <= 0.05, j.get("budget_kept").asBoolean());
        JsonNode last = j.get("coefficient_trajectory").get(steps - 1);
        assertEquals(j.get("final_coefficient").asDouble(), last.get("phi").asDouble(), 1e-12 * Math.abs(last.get("phi").asDouble()));
        assertTrue(Files.exists(out.resolve("adapter_model.safetensors")));

        assertEquals(1, execute(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "lora", "--data", domain.toString(),
                "--out", tmp.resolve("x1").toString(), "--general-budget", "0.05", "--general-probe", probe.toString()}, SMALL)), err.toString());
        assertTrue(err.toString().contains("--general-budget adapts a penalty"), err.toString());
        assertEquals(1, execute(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "si", "--importance",
                nu.resolve("importance.safetensors").toString(), "--data", domain.toString(), "--out", tmp.resolve("x2").toString(),
                "--general-budget", "0.05"}, SMALL)), err.toString());
        assertTrue(err.toString().contains("needs --general-probe"), err.toString());
        assertEquals(1, execute(concat(new String[]{"train-domain", "--model", model.toString(), "--method", "si", "--importance",
                nu.resolve("importance.safetensors").toString(), "--data", domain.toString(), "--out", tmp.resolve("x3").toString(),
                "--budget-every", "3"}, SMALL)), err.toString());
        assertTrue(err.toString().contains("--budget-every is used with --general-budget only"), err.toString());
    }
}
