package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The demo pipeline end to end on the shipped model and data, with a budget small enough for a unit test. What it
 * proves: every figure of {@code results.json} is recomputed here from the per-unit JSON files in {@code work/done/}
 * with plain doubles (means, Student-t and binomial 95 % intervals, the coefficient rule, the verdicts), the fronts are
 * the plan's swept knobs, a unit run again with the same plan and seed gives the same figures, and a second run of the
 * plan reuses every unit and rewrites the same results.
 */
class ExperimentTest {

    private static final String MODEL = "tiny-llama";
    private static final String DOMAIN = "medical";
    /** t_{0.975} with one degree of freedom: two seeds. */
    private static final double T1 = 12.706;
    private static final double TOL = 1e-9;

    /** Two seeds, a few rows, every unit in this JVM. */
    static DemoPlan micro() {
        return DemoPlan.quick().toBuilder().seeds(List.of(1L, 2L)).workers(0).nuRows(24).muRows(12).quizItems(24).fisherSamples(8)
                .pplTokens(400).batchSize(2).nuEpochs(1).muEpochs(2).budgets(List.of(0.2)).budgetEvery(2)
                .dialStrengths(List.of(3.0, 300.0)).uniformAlphas(List.of(0.5)).build();
    }

    @Test
    void resultsFollowFromTheUnitFilesAndUnitsAreReproducible(@TempDir Path out) throws Exception {
        DemoPlan plan = micro();
        Experiment.Outcome o = Experiment.run(plan, out, new PrintStream(new ByteArrayOutputStream()), dir -> {
            throw new AssertionError("no worker process with workers = 0");
        });
        ObjectMapper om = new ObjectMapper();
        JsonNode json = om.readTree(out.resolve("results.json").toFile());
        Map<String, JsonNode> units = new LinkedHashMap<>();
        for (Unit u : Unit.all(plan)) units.put(u.id(), om.readTree(out.resolve("work/done/" + u.id() + ".json").toFile()));
        JsonNode base = units.get(MODEL + "-" + DOMAIN + ".base");
        int items = base.get("domain_items").asInt();
        assertEquals(24, items, "the plan's quiz items");
        assertEquals(2, json.get("seeds").asInt());
        JsonNode run = json.get("runs").get(0);

        // the coefficient chosen per seed on validation, by the rule of Choice restated here
        Map<String, List<Integer>> chosen = new LinkedHashMap<>();
        for (String m : List.of("si_lora", "ewc_lora", "replay", "lora_mu_early", "si_budget", "si_dial", "wise_ft")) {
            List<Integer> ks = new ArrayList<>();
            for (long s : plan.seeds()) ks.add(choose(plan, m, s, units, base));
            chosen.put(m, ks);
            List<Double> values = new ArrayList<>();
            for (int k : ks) values.add(grid(plan, m).get(k));
            assertEquals(values, doubles(run.get("chosen_on_validation").get(m)), m + ": chosen on validation");
        }

        // every method's row: mean and interval over the two seeds of the units it stands for
        List<String> order = new ArrayList<>();
        for (JsonNode row : json.get("methods")) {
            String m = row.get("method").asText();
            order.add(m);
            List<JsonNode> perSeed = new ArrayList<>();
            if (m.equals("base")) {
                perSeed.add(base);
            } else {
                for (int si = 0; si < plan.seeds().size(); si++) perSeed.add(unitOf(plan, m, si, chosen, units));
            }
            checkFigures(row, perSeed, base, items, m);
            if (m.equals("si_lora_no_layer") || m.equals("si_lora_authors")) {
                // they train with SI-LoRA's chosen φ of their seed
                for (int si = 0; si < plan.seeds().size(); si++) {
                    assertEquals(plan.phiGrid().get(chosen.get("si_lora").get(si)), perSeed.get(si).get("value").asDouble(), 0, m);
                }
            }
        }
        assertEquals(Experiment.METHODS, order, "one row per method, in report order");
        assertEquals(0.0, row(json, "base").get("general_delta_loss").asDouble(), 0, "base against itself");

        // the front: per swept method exactly the plan's knob values, each point the mean over seeds at that knob
        Map<String, List<JsonNode>> front = new LinkedHashMap<>();
        for (JsonNode p : json.get("front")) front.computeIfAbsent(p.get("method").asText(), k -> new ArrayList<>()).add(p);
        assertEquals(List.of("lora_mu_early", "replay", "ewc_lora", "si_lora", "si_budget", "si_dial", "wise_ft"), new ArrayList<>(front.keySet()));
        for (Map.Entry<String, List<JsonNode>> e : front.entrySet()) {
            String m = e.getKey();
            List<Double> values = new ArrayList<>();
            for (JsonNode p : e.getValue()) values.add(p.get("value").asDouble());
            assertEquals(grid(plan, m), values, m + ": the front's points are the swept knob values");
            for (int k = 0; k < values.size(); k++) {
                List<JsonNode> perSeed = new ArrayList<>();
                for (int si = 0; si < plan.seeds().size(); si++) perSeed.add(atKnob(plan, m, si, k, units));
                checkFigures(e.getValue().get(k), perSeed, base, items, m + " knob " + k);
            }
        }

        // the verdicts follow from the intervals: SI-LoRA's front against each rival's, point by point
        for (String rival : Report.RIVALS) {
            List<JsonNode> other = rival.equals("si_lora_authors") ? List.of(row(json, "si_lora_authors")) : front.get(rival);
            boolean siWins = false;
            boolean rivalWins = false;
            for (JsonNode p : front.get("si_lora")) {
                for (JsonNode q : other) {
                    siWins |= clearlyBeats(p, q);
                    rivalWins |= clearlyBeats(q, p);
                }
            }
            String expected = siWins && rivalWins ? "mixed" : siWins ? "above" : rivalWins ? "below" : "indistinguishable";
            assertEquals(expected, run.get("verdicts").get(rival).asText(), rival);
        }

        // issue 18: the dial's front against the uniform rescale's by the same rule, and each budget against its interval
        boolean dialWins = false;
        boolean uniformWins = false;
        for (JsonNode p : front.get("si_dial")) {
            for (JsonNode q : front.get("wise_ft")) {
                dialWins |= clearlyBeats(p, q);
                uniformWins |= clearlyBeats(q, p);
            }
        }
        assertEquals(dialWins && uniformWins ? "mixed" : dialWins ? "above" : uniformWins ? "below" : "indistinguishable",
                run.get("dial_vs_uniform").asText());
        for (int k = 0; k < plan.budgets().size(); k++) {
            JsonNode kept = run.get("budget_kept").get(k);
            JsonNode p = front.get("si_budget").get(k);
            double b = plan.budgets().get(k);
            double lo = p.get("general_delta_loss_ci95").get(0).asDouble();
            double hi = p.get("general_delta_loss_ci95").get(1).asDouble();
            assertEquals(hi <= b ? "kept" : lo > b ? "exceeded" : "not_separated", kept.get("verdict").asText(), "budget " + b);
            for (int si = 0; si < plan.seeds().size(); si++) {
                JsonNode u = atKnob(plan, "si_budget", si, k, units);
                assertEquals(u.get("steps").asInt() / plan.budgetEvery(), u.get("budget_trajectory").size(), "one probe every K steps");
            }
        }
        // the dial and the rescale train nothing: they rescale the seed's LoRA(ν+μ) adapter
        for (String m : List.of("si_dial", "wise_ft")) {
            for (int si = 0; si < plan.seeds().size(); si++) assertTrue(!atKnob(plan, m, si, 0, units).has("steps"), m);
        }

        // the phase-ν summaries are the ν units, both recipes recorded
        for (int si = 0; si < plan.seeds().size(); si++) {
            assertEquals(units.get(new Unit(MODEL, DOMAIN, plan.seeds().get(si), "nu", -1).id()), run.get("nu").get(si));
            assertEquals("authors", run.get("nu").get(si).get("authors").get("recipe").asText());
        }
        assertTrue(o.markdown().contains("| si_lora |"), o.markdown());

        // the figures are whole PNGs, and no temporary or partial file is left anywhere
        for (String png : new String[]{"front_", "fig4_loss_vs_penalty_", "fig7_omega_norm_heatmap_"}) {
            BufferedImage img = ImageIO.read(out.resolve(png + MODEL + "-" + DOMAIN + ".png").toFile());
            assertNotNull(img, png);
            assertEquals(Plots.WIDTH, img.getWidth(), png);
            assertEquals(Plots.HEIGHT, img.getHeight(), png);
        }
        try (Stream<Path> all = Files.walk(out)) {
            List<Path> left = all.filter(p -> p.getFileName().toString().endsWith(".tmp") || p.getFileName().toString().endsWith(".part")).toList();
            assertEquals(List.of(), left, "temporary files left behind");
        }

        // the seed matters, and the same plan and seed give the same unit again (timings aside)
        JsonNode first = units.get(new Unit(MODEL, DOMAIN, 1, "rslora", -1).id());
        assertNotEquals(first.get("step_loss"), units.get(new Unit(MODEL, DOMAIN, 2, "rslora", -1).id()).get("step_loss"),
                "two seeds, two different trainings");
        Path again = out.resolve("again");
        UnitRunner.extract(plan, again);
        ObjectNode rerun = new UnitRunner(plan, again).run(new Unit(MODEL, DOMAIN, 1, "rslora", -1), Map.of(), (d, t) -> { });
        assertSameExceptTimes(first, rerun, "rslora seed 1 run twice");

        // a second run of the same plan reuses every unit (none is rewritten) and writes the same results
        String before = Files.readString(out.resolve("results.json"));
        Map<Path, FileTime> written = new LinkedHashMap<>();
        try (Stream<Path> done = Files.list(out.resolve("work/done"))) {
            for (Path p : done.toList()) written.put(p, Files.getLastModifiedTime(p));
        }
        Experiment.run(plan, out, new PrintStream(new ByteArrayOutputStream()), dir -> {
            throw new AssertionError("nothing to run");
        });
        for (Map.Entry<Path, FileTime> e : written.entrySet()) assertEquals(e.getValue(), Files.getLastModifiedTime(e.getKey()), "reused " + e.getKey());
        assertEquals(before, Files.readString(out.resolve("results.json")));
    }

    // ------------------------------------------------------------------ the figures, recomputed

    /** A row or front point against the units it stands for: means and 95 % intervals over the seeds. */
    private static void checkFigures(JsonNode row, List<JsonNode> perSeed, JsonNode base, int items, String what) {
        double[] nll = new double[perSeed.size()];
        double[] ppl = new double[perSeed.size()];
        double[] acc = new double[perSeed.size()];
        double[] domainPpl = new double[perSeed.size()];
        for (int i = 0; i < perSeed.size(); i++) {
            nll[i] = perSeed.get(i).get("general_nll").asDouble() - base.get("general_nll").asDouble();
            ppl[i] = Math.log(perSeed.get(i).get("general_ppl").asDouble());
            acc[i] = perSeed.get(i).get("domain_acc").asDouble();
            domainPpl[i] = Math.log(perSeed.get(i).get("domain_ppl").asDouble());
        }
        // Δ loss: mean ± t·SE; for two values SE = |a - b| / 2
        double[] d = tInterval(nll);
        near(d[0], row.get("general_delta_loss"), what + " general_delta_loss");
        near(d[1], row.get("general_delta_loss_ci95").get(0), what + " general_delta_loss lo");
        near(d[2], row.get("general_delta_loss_ci95").get(1), what + " general_delta_loss hi");
        // perplexities: geometric mean, t interval of the log
        double[] g = tInterval(ppl);
        near(Math.exp(g[0]), row.get("general_ppl"), what + " general_ppl");
        near(Math.exp(g[1]), row.get("general_ppl_ci95").get(0), what + " general_ppl lo");
        near(Math.exp(g[2]), row.get("general_ppl_ci95").get(1), what + " general_ppl hi");
        near(Math.exp(tInterval(domainPpl)[0]), row.get("domain_ppl"), what + " domain_ppl");
        // accuracy: the seeds' t half-width combined with the binomial one of the items, clipped to [0, 1]
        double[] a = tInterval(acc);
        double seedHalf = a[2] - a[0];
        double binomHalf = 1.96 * Math.sqrt(a[0] * (1 - a[0]) / items);
        double half = Math.sqrt(seedHalf * seedHalf + binomHalf * binomHalf);
        near(a[0], row.get("domain_acc"), what + " domain_acc");
        near(Math.max(0, a[0] - half), row.get("domain_acc_ci95").get(0), what + " domain_acc lo");
        near(Math.min(1, a[0] + half), row.get("domain_acc_ci95").get(1), what + " domain_acc hi");
    }

    /** {mean, lo, hi} of one or two values, with t(1) for two. */
    private static double[] tInterval(double[] v) {
        if (v.length == 1) return new double[]{v[0], v[0], v[0]};
        assertEquals(2, v.length, "two seeds");
        double mean = (v[0] + v[1]) / 2;
        double half = T1 * Math.abs(v[0] - v[1]) / 2;
        return new double[]{mean, mean - half, mean + half};
    }

    private static void near(double expected, JsonNode actual, String what) {
        assertNotNull(actual, what);
        assertEquals(expected, actual.asDouble(), TOL * Math.max(1, Math.abs(expected)), what);
    }

    /** Better or equal on both means and separated on at least one axis (accuracy up, Δ loss down). */
    private static boolean clearlyBeats(JsonNode p, JsonNode q) {
        boolean notWorse = p.get("domain_acc").asDouble() >= q.get("domain_acc").asDouble()
                && p.get("general_delta_loss").asDouble() <= q.get("general_delta_loss").asDouble();
        boolean separated = p.get("domain_acc_ci95").get(0).asDouble() > q.get("domain_acc_ci95").get(1).asDouble()
                || p.get("general_delta_loss_ci95").get(1).asDouble() < q.get("general_delta_loss_ci95").get(0).asDouble();
        return notWorse && separated;
    }

    // ------------------------------------------------------------------ which unit stands for what

    private static List<Double> grid(DemoPlan plan, String method) {
        return switch (method) {
            case "si_lora" -> plan.phiGrid();
            case "ewc_lora" -> plan.ewcGrid();
            case "replay" -> plan.replayFractions();
            case "si_budget" -> plan.budgets();
            case "si_dial" -> plan.dialStrengths();
            case "wise_ft" -> plan.uniformAlphas();
            case "lora_mu_early" -> {
                List<Double> g = new ArrayList<>(plan.earlyPoints());
                g.add(1.0);
                yield g;
            }
            default -> throw new AssertionError(method);
        };
    }

    /** The figures of {@code method} at knob {@code k} for seed index {@code si}; LoRA(μ)'s early points live inside its unit. */
    private static JsonNode atKnob(DemoPlan plan, String method, int si, int k, Map<String, JsonNode> units) {
        long seed = plan.seeds().get(si);
        if (!method.equals("lora_mu_early")) return units.get(new Unit(MODEL, DOMAIN, seed, method, k).id());
        JsonNode mu = units.get(new Unit(MODEL, DOMAIN, seed, "lora_mu", -1).id());
        return k < plan.earlyPoints().size() ? mu.get("early").get(k) : mu;
    }

    private static JsonNode unitOf(DemoPlan plan, String method, int si, Map<String, List<Integer>> chosen, Map<String, JsonNode> units) {
        if (chosen.containsKey(method)) return atKnob(plan, method, si, chosen.get(method).get(si), units);
        return units.get(new Unit(MODEL, DOMAIN, plan.seeds().get(si), method, -1).id());
    }

    /**
     * The coefficient rule: among the knobs keeping 3/4 of the unregularised run's validation-accuracy gain over the base
     * model, the lowest general validation PPL, else the first; stopping early: the earliest point keeping 3/4 of the
     * full run's gain.
     */
    private static int choose(DemoPlan plan, String method, long seed, Map<String, JsonNode> units, JsonNode base) {
        int si = plan.seeds().indexOf(seed);
        double baseAcc = base.get("valid_acc").asDouble();
        int n = grid(plan, method).size();
        if (method.equals("lora_mu_early")) {
            double gain = atKnob(plan, method, si, n - 1, units).get("valid_acc").asDouble() - baseAcc;
            for (int k = 0; k < n; k++) if (atKnob(plan, method, si, k, units).get("valid_acc").asDouble() - baseAcc >= 0.75 * gain) return k;
            return n - 1;
        }
        String reference = method.equals("lora_mu_early") || method.equals("replay") || method.equals("ewc_lora") ? "lora_mu" : "lora_nu_mu";
        double gain = units.get(new Unit(MODEL, DOMAIN, seed, reference, -1).id()).get("valid_acc").asDouble() - baseAcc;
        int best = -1;
        for (int k = 0; k < n; k++) {
            JsonNode u = atKnob(plan, method, si, k, units);
            boolean keeps = u.get("valid_acc").asDouble() - baseAcc >= 0.75 * gain;
            if (keeps && (best < 0 || u.get("valid_general_ppl").asDouble()
                    < atKnob(plan, method, si, best, units).get("valid_general_ppl").asDouble())) best = k;
        }
        return best < 0 ? 0 : best;
    }

    // ------------------------------------------------------------------ helpers

    private static JsonNode row(JsonNode json, String method) {
        for (JsonNode m : json.get("methods")) if (m.get("method").asText().equals(method)) return m;
        throw new AssertionError(method);
    }

    private static List<Double> doubles(JsonNode a) {
        List<Double> v = new ArrayList<>();
        a.forEach(n -> v.add(n.asDouble()));
        return v;
    }

    /** The same keys and values, but for the wall-clock times, which no two runs share. */
    private static void assertSameExceptTimes(JsonNode expected, JsonNode actual, String what) {
        List<String> keys = new ArrayList<>();
        expected.fieldNames().forEachRemaining(keys::add);
        List<String> actualKeys = new ArrayList<>();
        actual.fieldNames().forEachRemaining(actualKeys::add);
        assertEquals(keys, actualKeys, what + ": keys");
        for (String k : keys) {
            if (k.equals("seconds") || k.equals("train_seconds")) continue;
            JsonNode e = expected.get(k);
            JsonNode a = actual.get(k);
            if (e.isNumber() || e.isArray() && e.size() > 0 && e.get(0).isNumber()) {
                Iterator<JsonNode> ei = e.isArray() ? e.elements() : List.of(e).iterator();
                Iterator<JsonNode> ai = a.isArray() ? a.elements() : List.of(a).iterator();
                assertEquals(e.size(), a.size(), what + " " + k);
                while (ei.hasNext()) {
                    double x = ei.next().asDouble();
                    double y = ai.next().asDouble();
                    if (Double.doubleToLongBits(x) != Double.doubleToLongBits(y)) {
                        fail(what + " " + k + ": " + x + " then " + y);
                    }
                }
            } else {
                assertEquals(e, a, what + " " + k);
            }
        }
        assertFalse(keys.isEmpty());
    }
}
