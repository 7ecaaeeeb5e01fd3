package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo pipeline end to end on the shipped model and data, with a budget small enough for a unit test. */
class ExperimentTest {

    /** Two seeds, a few rows, every unit in this JVM. */
    static DemoPlan micro() {
        return DemoPlan.quick().toBuilder().seeds(List.of(1L, 2L)).workers(0).nuRows(24).muRows(12).quizItems(24).fisherSamples(8)
                .pplTokens(400).batchSize(2).nuEpochs(1).muEpochs(2).build();
    }

    @Test
    void microRunProducesEveryMethodResultsFrontsAndPlots(@TempDir Path out) throws Exception {
        Experiment.Outcome o = Experiment.run(micro(), out, new PrintStream(new ByteArrayOutputStream()), dir -> {
            throw new AssertionError("no worker process with workers = 0");
        });
        JsonNode json = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertEquals(2, json.get("seeds").asInt());
        assertEquals(24, json.get("domain_items").asInt());
        Set<String> methods = new HashSet<>();
        for (JsonNode m : json.get("methods")) {
            methods.add(m.get("method").asText());
            assertTrue(m.get("general_ppl").asDouble() > 1, m.toString());
            double acc = m.get("domain_acc").asDouble();
            assertTrue(acc >= 0 && acc <= 1, m.toString());
            for (String k : List.of("general_ppl_ci95", "domain_acc_ci95")) {
                JsonNode ci = m.get(k);
                assertTrue(ci.get(0).asDouble() <= m.get(k.replace("_ci95", "")).asDouble() + 1e-12
                        && m.get(k.replace("_ci95", "")).asDouble() <= ci.get(1).asDouble() + 1e-12, m.toString());
            }
            assertTrue(m.get("domain_ppl").asDouble() > 1 && m.get("general_delta_loss").isNumber(), m.toString());
        }
        assertEquals(new HashSet<>(Experiment.METHODS), methods);
        assertEquals(0.0, row(json, "base").get("general_delta_loss").asDouble(), 1e-12);
        Set<String> swept = new HashSet<>();
        for (JsonNode p : json.get("front")) {
            swept.add(p.get("method").asText());
            for (String k : List.of("knob", "value", "general_ppl", "domain_acc", "domain_ppl")) assertTrue(p.has(k), p.toString());
        }
        assertEquals(Set.of("lora_mu_early", "replay", "ewc_lora", "si_lora"), swept);
        assertEquals(3 + 3 + 3 + 3, json.get("front").size());
        JsonNode run = json.get("runs").get(0);
        assertEquals(2, run.get("nu").size());
        assertEquals("authors", run.get("nu").get(0).get("authors").get("recipe").asText());
        for (String png : new String[]{"front_tiny-llama-medical.png", "fig4_loss_vs_penalty_tiny-llama-medical.png",
                "fig7_omega_norm_heatmap_tiny-llama-medical.png"}) {
            assertTrue(Files.size(out.resolve(png)) > 1000, png);
        }
        assertTrue(o.markdown().contains("| si_lora |"), o.markdown());
        assertTrue(Files.exists(out.resolve("tiny-llama-medical/s1/nu/importance-authors.safetensors")));
        assertTrue(Files.exists(out.resolve("tiny-llama-medical/s2/si_lora-0/adapter_model.safetensors")));

        // a second run of the same plan reuses every unit and writes the same results
        String before = Files.readString(out.resolve("results.json"));
        long t0 = System.nanoTime();
        Experiment.run(micro(), out, new PrintStream(new ByteArrayOutputStream()), dir -> {
            throw new AssertionError("nothing to run");
        });
        assertTrue((System.nanoTime() - t0) / 1e9 < 30, "reused units");
        assertEquals(before, Files.readString(out.resolve("results.json")));
    }

    private static JsonNode row(JsonNode json, String method) {
        for (JsonNode m : json.get("methods")) if (m.get("method").asText().equals(method)) return m;
        throw new AssertionError(method);
    }
}
