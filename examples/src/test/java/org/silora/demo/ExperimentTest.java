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

    @Test
    void microRunProducesEveryMethodResultsAndPlots(@TempDir Path out) throws Exception {
        Experiment.Plan micro = new Experiment.Plan(List.of("tiny-llama"), List.of("medical"), 32, 8, 32, 1, 32, 1, 2e-3, 4, 16,
                new double[]{1e-3}, new double[]{0.5}, "auto", 1500, 16, 16, 16, true, 7);
        Experiment.Outcome o = Experiment.run(micro, out, new PrintStream(new ByteArrayOutputStream()));
        Set<String> methods = new HashSet<>();
        for (Experiment.MethodResult r : o.results()) {
            methods.add(r.method());
            assertTrue(r.generalPpl() > 1 && Double.isFinite(r.generalPpl()), r.toString());
            assertTrue(r.domainAcc() >= 0 && r.domainAcc() <= 1, r.toString());
        }
        assertEquals(new HashSet<>(Experiment.METHODS), methods);
        JsonNode json = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertEquals(Experiment.METHODS.size(), json.get("methods").size());
        for (JsonNode m : json.get("methods")) {
            assertTrue(m.has("method") && m.has("general_ppl") && m.has("domain_acc"), m.toString());
        }
        JsonNode run = json.get("runs").get(0);
        assertTrue(run.get("nu").get("omega_sum").isNumber());
        assertTrue(run.has("si_lora_chosen") && run.has("ewc_lora_chosen"));
        for (String png : new String[]{"fig4_loss_vs_penalty_tiny-llama-medical.png", "fig7_omega_norm_heatmap_tiny-llama-medical.png",
                "ppl_vs_acc_tiny-llama-medical.png"}) {
            assertTrue(Files.size(out.resolve(png)) > 1000, png);
        }
        assertTrue(o.markdown().contains("| si_lora |"), o.markdown());
        assertTrue(Files.exists(out.resolve("tiny-llama-medical/nu/importance.safetensors")));
    }
}
