package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo's statistics, coefficient choice and verdicts on hand-made numbers (no training). */
class DemoLogicTest {

    @Test
    void studentIntervalOverSeeds() {
        // mean 2, sample sd 1, n 3: SE = 1/sqrt(3), t(2) = 4.303
        double[] ci = Stats.ci95(new double[]{1, 2, 3});
        assertEquals(2 - 4.303 / Math.sqrt(3), ci[0], 1e-9);
        assertEquals(2 + 4.303 / Math.sqrt(3), ci[1], 1e-9);
        assertArrayEquals(new double[]{5, 5}, Stats.ci95(new double[]{5}), 0);
        assertEquals(1.96, Stats.t95(100));
        assertThrows(IllegalArgumentException.class, () -> Stats.t95(0));
    }

    @Test
    void accuracyIntervalCombinesSeedsAndItems() {
        // one deterministic model: the binomial interval of its items, 1.96·sqrt(0.5·0.5/400) = 0.049
        double[] det = Stats.accuracyCi95(new double[]{0.5, 0.5, 0.5}, 400);
        assertEquals(0.451, det[0], 1e-3);
        assertEquals(0.549, det[1], 1e-3);
        // seeds spread 0.4, 0.5, 0.6 (t·SE = 0.2484) and 400 items (0.049): sqrt of the sum of squares
        double[] both = Stats.accuracyCi95(new double[]{0.4, 0.5, 0.6}, 400);
        assertEquals(0.5 - Math.hypot(4.303 * 0.1 / Math.sqrt(3), 1.96 * Math.sqrt(0.25 / 400)), both[0], 1e-9);
        assertEquals(0.5 + Math.hypot(4.303 * 0.1 / Math.sqrt(3), 1.96 * Math.sqrt(0.25 / 400)), both[1], 1e-9);
        double[] clipped = Stats.accuracyCi95(new double[]{0.99, 1.0, 1.0}, 10);
        assertEquals(1.0, clipped[1]);
    }

    @Test
    void choiceKeepsThreeQuartersOfTheGainThenForgetsLeast() {
        Choice.Candidate ref = new Choice.Candidate(0, 0.60, 250);   // gain over base 0.40: 0.20; 3/4 of it: 0.15
        List<Choice.Candidate> c = List.of(new Choice.Candidate(1e-4, 0.60, 240), new Choice.Candidate(1e-3, 0.56, 220),
                new Choice.Candidate(1e-2, 0.54, 200));
        assertEquals(1, Choice.choose(c, ref, 0.40), "1e-2 keeps 0.14 < 0.15; of the others 1e-3 has the lower PPL");
        assertEquals(2, Choice.choose(c, ref, 0.30), "with a lower base all keep 3/4 of the gain: the lowest PPL");
        List<Choice.Candidate> none = List.of(new Choice.Candidate(1e-2, 0.40, 200), new Choice.Candidate(1e-1, 0.41, 190));
        assertEquals(0, Choice.choose(none, ref, 0.40), "none keeps enough: the smallest coefficient");
    }

    private static Verdict.Point p(double acc, double accHalf, double dloss, double dHalf) {
        return new Verdict.Point(acc, acc - accHalf, acc + accHalf, dloss, dloss - dHalf, dloss + dHalf);
    }

    @Test
    void verdictsFollowTheIntervals() {
        List<Verdict.Point> rival = List.of(p(0.50, 0.03, 0.20, 0.02), p(0.45, 0.03, 0.10, 0.02));
        // same accuracy, clearly less forgetting: above
        assertEquals(Verdict.Outcome.ABOVE, Verdict.compare(List.of(p(0.50, 0.03, 0.05, 0.02)), rival));
        assertEquals(Verdict.Outcome.BELOW, Verdict.compare(rival, List.of(p(0.50, 0.03, 0.05, 0.02))));
        // better means but overlapping intervals: cannot be told apart
        assertEquals(Verdict.Outcome.INDISTINGUISHABLE, Verdict.compare(List.of(p(0.51, 0.03, 0.18, 0.03)), rival));
        // one point beats a rival point, another is beaten by a rival point: mixed
        assertEquals(Verdict.Outcome.MIXED, Verdict.compare(List.of(p(0.50, 0.03, 0.05, 0.02), p(0.30, 0.03, 0.30, 0.02)), rival));
        // better on one axis with separated intervals but worse on the other mean: no claim
        assertTrue(!Verdict.clearlyBeats(p(0.60, 0.02, 0.25, 0.02), p(0.50, 0.02, 0.20, 0.02)));
        assertThrows(IllegalArgumentException.class, () -> new Verdict.Point(0.5, 0.6, 0.7, 0, 0, 0));
    }

    /** Report.run on made-up unit results: per-seed choices, means, fronts and the verdict against each rival. */
    @Test
    void reportAggregatesSeedsChoosesOnValidationAndJudgesFronts() {
        DemoPlan plan = DemoPlan.quick().toBuilder()
                .phiGrid(List.of(1e-4, 1e-3, 1e-2)).ewcGrid(List.of(1e2, 1e3, 1e4)).replayFractions(List.of(0.1, 0.2, 0.3))
                .budgets(List.of()).dialStrengths(List.of()).uniformAlphas(List.of()).build();   // issue 18's methods left out
        ObjectMapper om = new ObjectMapper();
        Map<String, JsonNode> units = new HashMap<>();
        ObjectNode base = eval(om, 100, 0.30, 0.30, 0.30, 100);
        base.put("domain_items", 500);
        units.put(new Unit("tiny-llama", "medical", 0, "base", -1).id(), base);
        for (long s : plan.seeds()) {
            double j = 0.001 * s;   // a little seed-to-seed spread
            ObjectNode mu = eval(om, 200 + s, 0.60 + j, 0.60, 0.40, 200);
            mu.putArray("early").add(eval(om, 120, 0.40 + j, 0.45, 0.35, 110)).add(eval(om, 150, 0.50 + j, 0.55, 0.38, 130));
            units.put(new Unit("tiny-llama", "medical", s, "lora_mu", -1).id(), mu);
            units.put(new Unit("tiny-llama", "medical", s, "lora_nu_mu", -1).id(), eval(om, 210, 0.62 + j, 0.62, 0.41, 210));
            units.put(new Unit("tiny-llama", "medical", s, "rslora", -1).id(), eval(om, 190, 0.58 + j, 0.58, 0.39, 190));
            units.put(new Unit("tiny-llama", "medical", s, "si_lora_no_layer", -1).id(), eval(om, 180, 0.55 + j, 0.55, 0.40, 180));
            units.put(new Unit("tiny-llama", "medical", s, "si_lora_authors", -1).id(), eval(om, 170, 0.50 + j, 0.50, 0.40, 170));
            for (int k = 0; k < 3; k++) {
                // SI: φ grows, general PPL falls to the base's while accuracy stays high: the middle φ is chosen
                units.put(new Unit("tiny-llama", "medical", s, "si_lora", k).id(),
                        eval(om, new double[]{180, 120, 101}[k], new double[]{0.61, 0.60, 0.45}[k] + j, new double[]{0.61, 0.60, 0.40}[k], 0.4,
                                new double[]{180, 120, 101}[k]));
                units.put(new Unit("tiny-llama", "medical", s, "ewc_lora", k).id(),
                        eval(om, new double[]{195, 180, 160}[k], new double[]{0.60, 0.58, 0.50}[k] + j, new double[]{0.60, 0.58, 0.50}[k], 0.4,
                                new double[]{195, 180, 160}[k]));
                units.put(new Unit("tiny-llama", "medical", s, "replay", k).id(),
                        eval(om, new double[]{190, 170, 150}[k], new double[]{0.59, 0.57, 0.55}[k] + j, new double[]{0.59, 0.57, 0.55}[k], 0.4,
                                new double[]{190, 170, 150}[k]));
            }
        }
        Report.Run r = Report.run(plan, "tiny-llama", "medical", units);
        assertEquals(Experiment.METHODS.stream().filter(m -> !Unit.OPTIONAL.contains(m)).toList(), r.rows().stream().map(Report.Row::method).toList(),
                "a plan with empty grids leaves the optional methods out");
        // SI's choice: φ index 1 (keeps (0.60-0.30)/(0.62-0.30) > 3/4 of the gain, lower PPL than index 0; index 2 loses it)
        assertEquals(List.of(1e-3, 1e-3, 1e-3), r.row("si_lora").values());
        assertEquals(List.of(1e-3, 1e-3, 1e-3), r.row("si_lora_no_layer").values());
        assertEquals(0.602, r.row("si_lora").domainAcc().mean(), 1e-9);
        assertEquals(Math.log(120) - Math.log(100), r.row("si_lora").deltaLoss().mean(), 1e-9);
        // EWC keeps 3/4 of LoRA(μ)'s gain (0.30) at λ index 1 (0.28), not 2 (0.20)
        assertEquals(List.of(1e3, 1e3, 1e3), r.row("ewc_lora").values());
        // stopping early: the earliest point keeping 3/4 of the full run's validation gain (0.55 - 0.30 >= 0.225)
        assertEquals(List.of(2 / 3.0, 2 / 3.0, 2 / 3.0), r.row("lora_mu_early").values());
        assertEquals(List.of(1 / 3.0, 2 / 3.0, 1.0), r.fronts().get("lora_mu_early").stream().map(Report.FrontPoint::value).toList());
        // SI's φ = 1e-3 point: accuracy of the early/replay/EWC points or better, clearly less forgetting
        assertEquals(Verdict.Outcome.ABOVE, r.verdicts().get("ewc_lora"));
        assertEquals(Verdict.Outcome.ABOVE, r.verdicts().get("replay"));
        assertEquals(Verdict.Outcome.ABOVE, r.verdicts().get("lora_mu_early"));
        assertTrue(Report.findings(r).contains("**holds**"), Report.findings(r));
        assertTrue(Report.table(r).contains("| si_lora |"), Report.table(r));
        var methods = om.createArrayNode();
        var front = om.createArrayNode();
        Report.toJson(r, methods, front);
        assertEquals(10, methods.size());
        assertEquals(3 * 4, front.size());
        for (JsonNode m : methods) {
            for (String k : List.of("general_ppl", "domain_acc", "domain_ppl", "general_delta_loss")) assertTrue(m.get(k).isNumber(), k);
            for (String k : List.of("general_ppl_ci95", "domain_acc_ci95")) {
                assertEquals(2, m.get(k).size());
                assertTrue(m.get(k).get(0).asDouble() <= m.get(k).get(1).asDouble());
            }
        }
    }

    private static ObjectNode eval(ObjectMapper om, double ppl, double acc, double validAcc, double accRaw, double validPpl) {
        ObjectNode o = om.createObjectNode();
        o.put("general_ppl", ppl);
        o.put("general_nll", Math.log(ppl));
        o.put("domain_acc", acc);
        o.put("domain_acc_raw", accRaw);
        o.put("domain_ppl", 50);
        o.put("valid_acc", validAcc);
        o.put("valid_general_ppl", validPpl);
        o.put("train_seconds", 10);
        o.putArray("step_loss").add(3.0);
        o.putArray("step_penalty").add(0.0);
        return o;
    }
}
