package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Turns the units' figures into the demo's results: one row per method (means over seeds with 95 % intervals), the
 * trade-off fronts, and the verdicts that follow from the intervals. Pure: no training, no files.
 *
 * <pre>{@code
 * Report.Run r = Report.run(plan, "tiny-llama", "medical", unitResults);
 * r.rows();     // base, lora_mu, ..., si_lora_authors
 * r.fronts();   // lora_mu_early, replay, ewc_lora, si_lora
 * }</pre>
 */
public final class Report {

    /**
     * One method's figures over seeds: mean and 95 % interval of each (perplexities: geometric mean, interval of the
     * log), and the knob value used per seed.
     */
    public record Row(String method, Stat generalPpl, Stat deltaLoss, Stat domainAcc, Stat domainAccRaw, Stat domainPpl,
                      Stat trainSeconds, List<Double> values, String knob) {
    }

    /** Mean with its 95 % interval. */
    public record Stat(double mean, double lo, double hi) {
        static Stat of(double[] v) {
            double[] ci = Stats.ci95(v);
            return new Stat(Stats.mean(v), ci[0], ci[1]);
        }

        /** Perplexities: the geometric mean over seeds (exp of the mean loss) and the t interval of the log. */
        static Stat perplexity(double[] v) {
            double[] logs = new double[v.length];
            for (int i = 0; i < v.length; i++) logs[i] = Math.log(v[i]);
            double[] ci = Stats.ci95(logs);
            return new Stat(Math.exp(Stats.mean(logs)), Math.exp(ci[0]), Math.exp(ci[1]));
        }

        static Stat accuracy(double[] v, int items) {
            double[] ci = Stats.accuracyCi95(v, items);
            return new Stat(Stats.mean(v), ci[0], ci[1]);
        }
    }

    /** One point of a method's front: the knob value and the row of figures at it. */
    public record FrontPoint(String method, String knob, double value, Row row) {
        Verdict.Point point() {
            return new Verdict.Point(row.domainAcc().mean(), row.domainAcc().lo(), row.domainAcc().hi(), row.deltaLoss().mean(),
                    row.deltaLoss().lo(), row.deltaLoss().hi());
        }
    }

    /** Everything about one model × domain. */
    public record Run(String model, String domain, int seeds, int items, List<Row> rows, Map<String, List<FrontPoint>> fronts,
                      Map<String, Verdict.Outcome> verdicts, ObjectNode details) {
        public Row row(String method) {
            return rows.stream().filter(r -> r.method().equals(method)).findFirst().orElseThrow();
        }
    }

    /** The methods whose fronts (or point) SI-LoRA's front is compared with, in report order. */
    public static final List<String> RIVALS = List.of("lora_mu_early", "replay", "ewc_lora", "si_lora_authors");

    /** A rival's name in the report's sentences. */
    static String rivalName(String method) {
        return switch (method) {
            case "lora_mu_early" -> "LoRA(μ) stopped early";
            case "replay" -> "replay";
            case "ewc_lora" -> "EWC-LoRA";
            case "si_lora_authors" -> "the authors' recipe (one point, at SI-LoRA's φ)";
            default -> method;
        };
    }

    private Report() {
    }

    /** Figures of one evaluation, from a unit's JSON (or an early point inside it). */
    private record Eval(double ppl, double nll, double acc, double accRaw, double domainPpl, double validAcc, double validPpl, double seconds) {
        static Eval of(JsonNode j) {
            return new Eval(j.get("general_ppl").asDouble(), j.get("general_nll").asDouble(), j.get("domain_acc").asDouble(),
                    j.get("domain_acc_raw").asDouble(), j.get("domain_ppl").asDouble(), j.path("valid_acc").asDouble(Double.NaN),
                    j.path("valid_general_ppl").asDouble(Double.NaN), j.has("train_seconds") ? j.get("train_seconds").asDouble() : 0);
        }
    }

    /** Builds the rows, fronts and verdicts of one model × domain from the units' JSON (by {@link Unit#id()}). */
    public static Run run(DemoPlan plan, String model, String domain, Map<String, JsonNode> units) {
        List<Long> seeds = plan.seeds();
        JsonNode baseJson = get(units, new Unit(model, domain, 0, "base", -1));
        Eval base = Eval.of(baseJson);
        int items = baseJson.get("domain_items").asInt();
        ObjectNode details = new ObjectMapper().createObjectNode();
        List<Row> rows = new ArrayList<>();
        rows.add(row("base", List.of(base), base, items, List.of(), null));
        // per seed: the single runs, the sweeps, and the early points of LoRA(μ)
        Map<String, List<Eval>> single = new LinkedHashMap<>();
        for (String m : List.of("lora_mu", "lora_nu_mu", "rslora", "si_lora_no_layer", "si_lora_authors")) {
            List<Eval> es = new ArrayList<>();
            for (long s : seeds) es.add(Eval.of(get(units, new Unit(model, domain, s, m, -1))));
            single.put(m, es);
        }
        Map<String, List<Double>> grids = new LinkedHashMap<>(Map.of("si_lora", plan.phiGrid(), "ewc_lora", plan.ewcGrid(),
                "replay", plan.replayFractions()));
        // issue 18's controls, where the plan has them: the budget (trained) and the two rescales of LoRA(ν+μ) (evaluated)
        Map<String, List<Double>> controls = new LinkedHashMap<>();
        controls.put("si_budget", plan.budgets());
        controls.put("si_dial", plan.dialStrengths());
        controls.put("wise_ft", plan.uniformAlphas());
        controls.values().removeIf(List::isEmpty);
        grids.putAll(controls);
        List<String> swept = new ArrayList<>(List.of("ewc_lora", "si_lora", "replay"));
        swept.addAll(controls.keySet());
        Map<String, List<List<Eval>>> sweeps = new LinkedHashMap<>();   // method -> per seed -> per knob
        for (String m : swept) {
            List<List<Eval>> perSeed = new ArrayList<>();
            for (long s : seeds) {
                List<Eval> ks = new ArrayList<>();
                for (int k = 0; k < grids.get(m).size(); k++) ks.add(Eval.of(get(units, new Unit(model, domain, s, m, k))));
                perSeed.add(ks);
            }
            sweeps.put(m, perSeed);
        }
        List<Double> earlyValues = new ArrayList<>(plan.earlyPoints());
        earlyValues.add(1.0);
        List<List<Eval>> early = new ArrayList<>();
        for (long s : seeds) {
            JsonNode j = get(units, new Unit(model, domain, s, "lora_mu", -1));
            List<Eval> ks = new ArrayList<>();
            for (JsonNode e : j.get("early")) ks.add(Eval.of(e));
            ks.add(Eval.of(j));
            early.add(ks);
        }
        sweeps.put("lora_mu_early", early);
        grids = new LinkedHashMap<>(grids);
        grids.put("lora_mu_early", earlyValues);
        Map<String, String> knobs = Map.of("si_lora", "phi", "ewc_lora", "lambda", "replay", "fraction", "lora_mu_early", "steps_fraction",
                "si_budget", "budget", "si_dial", "strength", "wise_ft", "alpha");

        // chosen per seed on validation: the coefficient rule of Choice, reference = the unregularised run
        Map<String, List<Integer>> chosen = new LinkedHashMap<>();
        ObjectNode choice = details.putObject("chosen_on_validation");
        List<String> chosenFor = new ArrayList<>(List.of("lora_mu_early", "replay", "ewc_lora", "si_lora"));
        chosenFor.addAll(controls.keySet());
        for (String m : chosenFor) {
            List<Integer> ks = new ArrayList<>();
            ArrayNode a = choice.putArray(m);
            for (int si = 0; si < seeds.size(); si++) {
                boolean fromNu = m.equals("si_lora") || controls.containsKey(m);   // these start from (or rescale) LoRA(ν+μ)
                Eval ref = fromNu ? single.get("lora_nu_mu").get(si) : single.get("lora_mu").get(si);
                int k = choose(m, grids.get(m), sweeps.get(m).get(si), ref, base);
                ks.add(k);
                a.add(grids.get(m).get(k));
            }
            chosen.put(m, ks);
        }
        details.put("choice_rule", Choice.rule());

        for (String m : Experiment.METHODS) {
            if (m.equals("base")) continue;
            if (Unit.OPTIONAL.contains(m) && !controls.containsKey(m)) continue;
            if (single.containsKey(m)) {
                List<Double> vals = new ArrayList<>();
                if (m.equals("si_lora_no_layer") || m.equals("si_lora_authors")) {
                    for (int si = 0; si < seeds.size(); si++) vals.add(plan.phiGrid().get(chosen.get("si_lora").get(si)));
                }
                rows.add(row(m, single.get(m), base, items, vals, vals.isEmpty() ? null : "phi"));
            } else {
                List<Eval> es = new ArrayList<>();
                List<Double> vals = new ArrayList<>();
                for (int si = 0; si < seeds.size(); si++) {
                    int k = chosen.get(m).get(si);
                    es.add(sweeps.get(m).get(si).get(k));
                    vals.add(grids.get(m).get(k));
                }
                rows.add(row(m, es, base, items, vals, knobs.get(m)));
            }
        }

        Map<String, List<FrontPoint>> fronts = new LinkedHashMap<>();
        for (String m : chosenFor) {
            List<FrontPoint> f = new ArrayList<>();
            for (int k = 0; k < grids.get(m).size(); k++) {
                List<Eval> es = new ArrayList<>();
                for (int si = 0; si < seeds.size(); si++) es.add(sweeps.get(m).get(si).get(k));
                f.add(new FrontPoint(m, knobs.get(m), grids.get(m).get(k), row(m, es, base, items, List.of(grids.get(m).get(k)), knobs.get(m))));
            }
            fronts.put(m, f);
        }
        List<FrontPoint> authors = List.of(new FrontPoint("si_lora_authors", "phi", Double.NaN, rowOf(rows, "si_lora_authors")));
        Map<String, Verdict.Outcome> verdicts = new LinkedHashMap<>();
        List<Verdict.Point> si = fronts.get("si_lora").stream().map(FrontPoint::point).toList();
        for (String rival : RIVALS) {
            List<FrontPoint> other = rival.equals("si_lora_authors") ? authors : fronts.get(rival);
            verdicts.put(rival, Verdict.compare(si, other.stream().map(FrontPoint::point).toList()));
        }
        if (fronts.containsKey("si_dial") && fronts.containsKey("wise_ft")) {
            Verdict.Outcome o = Verdict.compare(fronts.get("si_dial").stream().map(FrontPoint::point).toList(),
                    fronts.get("wise_ft").stream().map(FrontPoint::point).toList());
            details.put("dial_vs_uniform", o.name().toLowerCase(Locale.ROOT));
        }
        if (fronts.containsKey("si_budget")) {
            ArrayNode kept = details.putArray("budget_kept");
            for (FrontPoint p : fronts.get("si_budget")) {
                ObjectNode k = kept.addObject();
                k.put("budget", p.value());
                k.put("general_delta_loss", p.row().deltaLoss().mean());
                k.put("general_delta_loss_lo", p.row().deltaLoss().lo());
                k.put("general_delta_loss_hi", p.row().deltaLoss().hi());
                k.put("verdict", budgetVerdict(p.value(), p.row().deltaLoss()));
            }
        }
        return new Run(model, domain, seeds.size(), items, rows, fronts, verdicts, details);
    }

    /** Whether a budget held on the held-out general text, by the interval of Δ loss over the seeds. */
    static String budgetVerdict(double budget, Stat delta) {
        if (delta.hi() <= budget) return "kept";
        if (delta.lo() > budget) return "exceeded";
        return "not_separated";
    }

    /**
     * The index of SI-LoRA's φ chosen on validation for one seed: what {@code si_lora_no_layer} and
     * {@code si_lora_authors} train with, and the row {@link #run} reports. Needs the base unit, the seed's
     * {@code lora_nu_mu} and its {@code si_lora} sweep in {@code units}.
     */
    public static int chosenPhi(DemoPlan plan, String model, String domain, long seed, Map<String, JsonNode> units) {
        Eval base = Eval.of(get(units, new Unit(model, domain, 0, "base", -1)));
        Eval ref = Eval.of(get(units, new Unit(model, domain, seed, "lora_nu_mu", -1)));
        List<Eval> sweep = new ArrayList<>();
        for (int k = 0; k < plan.phiGrid().size(); k++) sweep.add(Eval.of(get(units, new Unit(model, domain, seed, "si_lora", k))));
        return choose("si_lora", plan.phiGrid(), sweep, ref, base);
    }

    /** {@link Choice}'s rule over one seed's sweep of {@code method} against its unregularised reference run. */
    private static int choose(String method, List<Double> grid, List<Eval> sweep, Eval ref, Eval base) {
        List<Choice.Candidate> cands = new ArrayList<>();
        for (int k = 0; k < sweep.size(); k++) cands.add(new Choice.Candidate(grid.get(k), sweep.get(k).validAcc(), sweep.get(k).validPpl()));
        return method.equals("lora_mu_early") ? chooseEarly(cands, base.validAcc())
                : Choice.choose(cands, new Choice.Candidate(0, ref.validAcc(), ref.validPpl()), base.validAcc());
    }

    /** "Stop early" chooses among its own points: the earliest that keeps the rule's share of the full run's gain. */
    private static int chooseEarly(List<Choice.Candidate> cands, double baseValid) {
        Choice.Candidate full = cands.get(cands.size() - 1);
        double gain = full.validAcc() - baseValid;
        for (int k = 0; k < cands.size(); k++) {
            if (cands.get(k).validAcc() - baseValid >= Choice.KEEP * gain) return k;
        }
        return cands.size() - 1;
    }

    private static Row rowOf(List<Row> rows, String m) {
        return rows.stream().filter(r -> r.method().equals(m)).findFirst().orElseThrow();
    }

    private static Row row(String method, List<Eval> es, Eval base, int items, List<Double> values, String knob) {
        return new Row(method, Stat.perplexity(arr(es, Eval::ppl)), Stat.of(arr(es, e -> e.nll() - base.nll())),
                Stat.accuracy(arr(es, Eval::acc), items), Stat.accuracy(arr(es, Eval::accRaw), items), Stat.perplexity(arr(es, Eval::domainPpl)),
                Stat.of(arr(es, Eval::seconds)), List.copyOf(values), knob);
    }

    private static double[] arr(List<Eval> es, ToDoubleFunction<Eval> f) {
        return es.stream().mapToDouble(f).toArray();
    }

    private static JsonNode get(Map<String, JsonNode> units, Unit u) {
        JsonNode j = units.get(u.id());
        if (j == null) throw new IllegalStateException("no result for unit " + u.id());
        return j;
    }

    /** {@code methods[]} rows and {@code front[]} points of results.json (SPEC §7). */
    public static void toJson(Run run, ArrayNode methods, ArrayNode front) {
        for (Row r : run.rows()) {
            ObjectNode m = methods.addObject();
            m.put("method", r.method());
            m.put("model", run.model());
            m.put("domain", run.domain());
            m.put("general_ppl", r.generalPpl().mean());
            interval(m.putArray("general_ppl_ci95"), r.generalPpl());
            m.put("domain_acc", r.domainAcc().mean());
            interval(m.putArray("domain_acc_ci95"), r.domainAcc());
            m.put("domain_acc_raw", r.domainAccRaw().mean());
            interval(m.putArray("domain_acc_raw_ci95"), r.domainAccRaw());
            m.put("domain_ppl", r.domainPpl().mean());
            interval(m.putArray("domain_ppl_ci95"), r.domainPpl());
            m.put("general_delta_loss", r.deltaLoss().mean());
            interval(m.putArray("general_delta_loss_ci95"), r.deltaLoss());
            m.put("train_seconds", r.trainSeconds().mean());
            if (r.knob() != null) {
                m.put("knob", r.knob());
                ArrayNode v = m.putArray("values_per_seed");
                r.values().forEach(v::add);
            }
        }
        for (List<FrontPoint> f : run.fronts().values()) {
            for (FrontPoint p : f) {
                ObjectNode o = front.addObject();
                o.put("method", p.method());
                o.put("model", run.model());
                o.put("domain", run.domain());
                o.put("knob", p.knob());
                o.put("value", p.value());
                o.put("general_ppl", p.row().generalPpl().mean());
                interval(o.putArray("general_ppl_ci95"), p.row().generalPpl());
                o.put("general_delta_loss", p.row().deltaLoss().mean());
                interval(o.putArray("general_delta_loss_ci95"), p.row().deltaLoss());
                o.put("domain_acc", p.row().domainAcc().mean());
                interval(o.putArray("domain_acc_ci95"), p.row().domainAcc());
                o.put("domain_ppl", p.row().domainPpl().mean());
            }
        }
    }

    private static void interval(ArrayNode a, Stat s) {
        a.add(s.lo());
        a.add(s.hi());
    }

    /** The Markdown table of one run. */
    public static String table(Run run) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%n**%s, %s domain** (means of %d seeds, [95 %% interval]; domain accuracy = acc_norm "
                + "on %d quiz items)%n%n", run.model(), run.domain(), run.seeds(), run.items()));
        sb.append("| method | general PPL ↓ | Δ loss ↓ | domain acc ↑ | domain PPL ↓ | knob per seed |\n|---|---:|---:|---:|---:|---|\n");
        for (Row r : run.rows()) {
            sb.append(String.format(Locale.ROOT, "| %s | %.1f [%.1f, %.1f] | %+.3f [%+.3f, %+.3f] | %.1f %% [%.1f, %.1f] | %.1f [%.1f, %.1f] | %s |%n",
                    r.method(), r.generalPpl().mean(), r.generalPpl().lo(), r.generalPpl().hi(), r.deltaLoss().mean(), r.deltaLoss().lo(),
                    r.deltaLoss().hi(), 100 * r.domainAcc().mean(), 100 * r.domainAcc().lo(), 100 * r.domainAcc().hi(), r.domainPpl().mean(),
                    r.domainPpl().lo(), r.domainPpl().hi(), r.knob() == null ? "" : r.knob() + " " + values(r.values())));
        }
        return sb.toString();
    }

    private static String values(List<Double> v) {
        List<String> s = new ArrayList<>();
        for (double d : v) s.add(String.format(Locale.ROOT, "%.3g", d));
        return String.join(", ", s);
    }

    /** Whether the domain is learned (issue 14's bar) and what the intervals say about the fronts, in sentences. */
    public static String findings(Run run) {
        StringBuilder sb = new StringBuilder();
        Row base = run.row("base");
        Row mu = run.row("lora_mu");
        double gain = mu.domainAcc().mean() - base.domainAcc().mean();
        boolean separated = mu.domainAcc().lo() > base.domainAcc().hi();
        double pplFall = 1 - mu.domainPpl().mean() / base.domainPpl().mean();
        sb.append(String.format(Locale.ROOT, "- **The domain is learned:** LoRA(μ) answers %.1f %% of the %d quiz items against the base model's "
                        + "%.1f %% (%+.1f points; intervals %s), and its perplexity on held-out domain text falls %.0f %% (%.1f → %.1f). %s%n",
                100 * mu.domainAcc().mean(), run.items(), 100 * base.domainAcc().mean(), 100 * gain,
                separated ? "do not overlap" : "overlap", 100 * pplFall, base.domainPpl().mean(), mu.domainPpl().mean(),
                gain >= 0.15 && separated && pplFall >= 0.25 ? "Both bars (≥ +15 points with separated intervals, ≥ 25 % lower domain PPL) are met."
                        : "**Not every bar is met** (≥ +15 points with separated intervals, ≥ 25 % lower domain PPL)."));
        Row si = run.row("si_lora");
        Row numu = run.row("lora_nu_mu");
        boolean keeps = si.deltaLoss().hi() < numu.deltaLoss().lo();
        boolean learns = si.domainAcc().hi() >= numu.domainAcc().lo();
        sb.append(String.format(Locale.ROOT, "- **The paper's claim** (SI-LoRA forgets less than LoRA(ν+μ) at a comparable domain accuracy): Δ loss %+.3f vs "
                        + "%+.3f (%s), domain accuracy %.1f %% vs %.1f %% (%s): %s.%n",
                si.deltaLoss().mean(), numu.deltaLoss().mean(), keeps ? "lower, intervals separated" : "intervals overlap or SI is higher",
                100 * si.domainAcc().mean(), 100 * numu.domainAcc().mean(), learns ? "intervals overlap or SI is higher" : "SI lower, separated",
                keeps && learns ? "**holds** on this run" : "**does not hold** on this run"));
        if (run.details().has("dial_vs_uniform")) {
            String o = run.details().get("dial_vs_uniform").asText();
            sb.append(String.format(Locale.ROOT, "- **The importance dial against the uniform rescale** (both applied to LoRA(ν+μ)'s adapter after "
                    + "training, no retraining): the dial's front **%s** the uniform rescale's%s.%n", Verdict.Outcome.valueOf(o.toUpperCase(Locale.ROOT)).words(),
                    o.equals("above") ? " (a dial point is clearly better on one axis and no worse on the other, no uniform point is so against it)"
                            : o.equals("indistinguishable") ? " (the intervals overlap everywhere)" : ""));
        }
        if (run.details().has("budget_kept")) {
            for (JsonNode k : run.details().get("budget_kept")) {
                String v = k.get("verdict").asText();
                sb.append(String.format(Locale.ROOT, "- **General budget %.2f nats** (φ adapted on validation text): Δ loss on the held-out text %+.3f [%+.3f, %+.3f]: %s.%n",
                        k.get("budget").asDouble(), k.get("general_delta_loss").asDouble(), k.get("general_delta_loss_lo").asDouble(),
                        k.get("general_delta_loss_hi").asDouble(), v.equals("kept") ? "**kept** (the whole interval lies at or below it)"
                                : v.equals("exceeded") ? "**exceeded** (the whole interval lies above it)" : "not decided by the intervals (they straddle it)"));
            }
        }
        for (Map.Entry<String, Verdict.Outcome> e : run.verdicts().entrySet()) {
            sb.append(String.format(Locale.ROOT, "- SI-LoRA's front against %s: it **%s** it%s.%n", rivalName(e.getKey()), e.getValue().words(),
                    switch (e.getValue()) {
                        case ABOVE -> " (one of its points is better on one axis with separated intervals and no worse on the other, "
                                + "and none of the rival's points is so against it)";
                        case BELOW -> " (a rival point is better with separated intervals, none of SI's is)";
                        case MIXED -> " (each front has a point that clearly beats one of the other's)";
                        case INDISTINGUISHABLE -> " (no point of either front clearly beats a point of the other: the intervals overlap)";
                    }));
        }
        return sb.toString();
    }
}
