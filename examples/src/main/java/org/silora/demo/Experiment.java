package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.console.ProgressBar;
import org.silora.hf.AtomicFiles;
import org.silora.si.Importance;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The paper's experiment end to end on the shipped data and tiny models, as a real experiment: for every seed, phase ν
 * (LoRA on Brown with SI recorded by this project's recipe and the authors' recipe) and every phase-μ method with the
 * same budget on the domain's facts; each swept method (φ of SI-LoRA, λ of EWC-LoRA, the replay fraction, the steps of
 * LoRA(μ)) gives a trade-off front; every figure is a mean over seeds with a 95 % interval. The work is split into
 * {@link Unit}s that single-threaded worker processes take in parallel ({@link DemoWorker}); the results are then
 * aggregated by {@link Report} into {@code results.json}, the Markdown tables and the plots.
 *
 * <pre>{@code
 * Experiment.Outcome o = Experiment.run(DemoPlan.quick().withWorkers(0), Path.of("silora-out/demo"), System.err, null);
 * // or with worker processes: launcher = dir -> new ProcessBuilder("java", "-jar", "silora.jar", "demo-worker", "--out", dir.toString())
 * }</pre>
 */
public final class Experiment {

    /** Methods in report order, with SPEC §4/§7's names. */
    public static final List<String> METHODS = List.of("base", "lora_mu", "lora_nu_mu", "rslora", "ewc_lora", "si_lora",
            "si_lora_no_layer", "lora_mu_early", "replay", "si_lora_authors");

    /** Starts one worker process: {@code silora demo-worker --out DIR} in a child JVM set up as the launcher does. */
    public interface WorkerLauncher {
        ProcessBuilder start(Path out);
    }

    /** What the demo produced. */
    public record Outcome(List<Report.Run> runs, ObjectNode json, String markdown, Map<String, JsonNode> units) {
    }

    private Experiment() {
    }

    /** Runs the plan; worker processes (if the plan has any) are started with {@code launcher}. */
    public static Outcome run(DemoPlan plan, Path out, PrintStream log, WorkerLauncher launcher) throws IOException, InterruptedException {
        Files.createDirectories(out);
        UnitRunner.extract(plan, out);
        Path work = out.resolve("work");
        prepareWork(plan, work, log);
        List<Unit> units = Unit.all(plan);
        if (plan.workers() == 0) {
            ProgressBar bar = new ProgressBar("demo", units.size());
            Set<String> seen = new HashSet<>();
            boolean ok = new DemoWorker(plan, out).run((id, d, t) -> {
                if (d < 0) {
                    seen.add(id);
                    bar.update(seen.size(), units.size(), id);
                }
            });
            bar.close();
            if (!ok) throw new IllegalStateException(firstFailure(work));
        } else {
            supervise(plan, out, work, units, log, launcher);
        }
        Map<String, JsonNode> results = new HashMap<>();
        ObjectMapper om = new ObjectMapper();
        for (Unit u : units) results.put(u.id(), om.readTree(DemoWorker.done(work, u).toFile()));
        return aggregate(plan, out, results);
    }

    /** Keeps the results of an earlier run of the same plan; forgets claims and failures (no worker is alive now). */
    private static void prepareWork(DemoPlan plan, Path work, PrintStream log) throws IOException {
        Path planFile = work.resolve("plan.json");
        String planJson = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(plan.withWorkers(0).toJson());
        if (Files.exists(planFile) && !Files.readString(planFile).equals(planJson)) {
            log.println("demo: the plan changed since the results in " + work + ": starting over");
            deleteTree(work);
        }
        deleteTree(work.resolve("claims"));
        deleteTree(work.resolve("failed"));
        deleteTree(work.resolve("status"));
        Files.createDirectories(work.resolve("status"));
        AtomicFiles.writeString(planFile, planJson);
    }

    private static void supervise(DemoPlan plan, Path out, Path work, List<Unit> units, PrintStream log, WorkerLauncher launcher)
            throws IOException, InterruptedException {
        double totalCost = units.stream().mapToDouble(u -> u.cost(plan)).sum();
        List<Process> procs = new ArrayList<>();
        Thread cleanup = new Thread(() -> procs.forEach(Process::destroy));
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            for (int i = 0; i < plan.workers(); i++) {
                ProcessBuilder pb = launcher.start(out);
                pb.environment().put("OMP_NUM_THREADS", "1");
                pb.environment().put("OPENBLAS_NUM_THREADS", "1");
                pb.environment().put(DemoWorker.WORKER_ENV, Integer.toString(i));
                pb.redirectErrorStream(true).redirectOutput(work.resolve("worker-" + i + ".log").toFile());
                procs.add(pb.start());
                Thread.sleep(500);   // the second JVM starts while the first reads the data: less contention at start-up
            }
            Set<String> reported = new HashSet<>();
            for (Unit u : units) if (Files.exists(DemoWorker.done(work, u))) reported.add(u.id());
            if (!reported.isEmpty()) log.printf(Locale.ROOT, "demo: %d of %d units reused from an earlier run of this plan%n", reported.size(), units.size());
            long t0 = System.nanoTime();
            ProgressBar bar = new ProgressBar("demo", 1000);
            ObjectMapper om = new ObjectMapper();
            while (true) {
                for (Unit u : units) {
                    if (!Files.exists(DemoWorker.done(work, u))) continue;
                    if (reported.add(u.id())) log.println(summary(u, om.readTree(DemoWorker.done(work, u).toFile()),
                            (System.nanoTime() - t0) / 1e9));
                }
                double doneCost = units.stream().filter(u -> reported.contains(u.id())).mapToDouble(u -> u.cost(plan)).sum();
                bar.update((int) Math.round(1000 * doneCost / totalCost), 1000, running(work));
                boolean alive = procs.stream().anyMatch(Process::isAlive);
                if (reported.size() == units.size()) break;
                try (var s = Files.list(DemoWorker.failed(work))) {
                    if (s.findAny().isPresent()) throw new IllegalStateException(firstFailure(work));
                }
                if (!alive) {
                    throw new IllegalStateException("the demo's workers ended with " + (units.size() - reported.size())
                            + " units left; see " + work.resolve("worker-0.log"));
                }
                Thread.sleep(1000);
            }
            bar.close();
        } finally {
            procs.forEach(Process::destroy);
            for (Process p : procs) p.waitFor();
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
    }

    private static String running(Path work) throws IOException {
        List<String> s = new ArrayList<>();
        try (var files = Files.list(work.resolve("status"))) {
            for (Path p : files.sorted().toList()) {
                try {
                    s.add(Files.readString(p).strip());
                } catch (IOException e) {
                    // being replaced: skip this time
                }
            }
        }
        return String.join("; ", s);
    }

    private static String summary(Unit u, JsonNode j, double elapsed) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "[%5.0f s] %s (%.0f s)", elapsed, u.id(), j.get("seconds").asDouble()));
        if (j.has("general_ppl")) {
            sb.append(String.format(Locale.ROOT, ": general PPL %.1f, domain acc %.1f %%, domain PPL %.1f", j.get("general_ppl").asDouble(),
                    100 * j.get("domain_acc").asDouble(), j.get("domain_ppl").asDouble()));
        }
        if (u.method().equals("nu")) {
            sb.append(String.format(Locale.ROOT, ": loss %.3f -> %.3f, Fisher %.1f s", j.get("loss_before").asDouble(),
                    j.get("loss_after").asDouble(), j.get("fisher_seconds").asDouble()));
        }
        return sb.toString();
    }

    static String firstFailure(Path work) throws IOException {
        try (var s = Files.list(DemoWorker.failed(work))) {
            Path p = s.sorted().findFirst().orElse(null);
            return p == null ? "a demo worker failed" : Files.readString(p).strip();
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    /** results.json, the Markdown tables and findings, the plots. */
    static Outcome aggregate(DemoPlan plan, Path out, Map<String, JsonNode> units) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("seeds", plan.seeds().size());
        root.put("domain_acc_metric", "acc_norm (lm-evaluation-harness: sum of the answer's log-probabilities / its length in characters); "
                + "domain_acc_raw is acc");
        ArrayNode methods = root.putArray("methods");
        ArrayNode front = root.putArray("front");
        ArrayNode runs = root.putArray("runs");
        StringBuilder md = new StringBuilder();
        List<Report.Run> all = new ArrayList<>();
        for (String model : plan.models()) {
            for (String domain : plan.domains()) {
                Report.Run r = Report.run(plan, model, domain, units);
                all.add(r);
                if (!root.has("domain_items")) root.put("domain_items", r.items());
                Report.toJson(r, methods, front);
                ObjectNode rj = runs.addObject();
                rj.put("model", model);
                rj.put("domain", domain);
                rj.put("domain_items", r.items());
                rj.setAll(r.details());
                ObjectNode v = rj.putObject("verdicts");
                r.verdicts().forEach((k, o) -> v.put(k, o.name().toLowerCase(Locale.ROOT)));
                ArrayNode nus = rj.putArray("nu");
                for (long s : plan.seeds()) nus.add(units.get(new Unit(model, domain, s, "nu", -1).id()));
                md.append(Report.table(r)).append('\n').append(Report.findings(r));
                plots(plan, out, r, units);
            }
        }
        root.set("plan", plan.toJson());
        AtomicFiles.writeString(out.resolve("results.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        return new Outcome(all, root, md.toString(), units);
    }

    private static void plots(DemoPlan plan, Path out, Report.Run r, Map<String, JsonNode> units) throws IOException {
        String tag = r.model() + "-" + r.domain();
        // the trade-off: domain accuracy against the rise of general loss, one line per swept method, single points for the rest
        List<Plots.Front> fronts = new ArrayList<>();
        Map<String, String> names = Map.of("lora_mu_early", "LoRA(mu), fewer steps", "replay", "replay (general fraction)",
                "ewc_lora", "EWC-LoRA (lambda)", "si_lora", "SI-LoRA (phi)");
        for (Map.Entry<String, List<Report.FrontPoint>> e : r.fronts().entrySet()) {
            fronts.add(front(names.get(e.getKey()), e.getValue().stream().map(Report.FrontPoint::row).toList()));
        }
        for (String m : List.of("base", "lora_nu_mu", "rslora", "si_lora_no_layer", "si_lora_authors")) {
            fronts.add(front(m, List.of(r.row(m))));
        }
        Plots.front(out.resolve("front_" + tag + ".png"), "Domain accuracy vs forgetting (" + tag + ", " + r.seeds() + " seeds, 95 % intervals)",
                "domain accuracy, % (higher is better)", "general loss rise vs base, nats/token (lower is better)", fronts);
        // Fig. 4: task loss and scaled penalty over the μ steps of the first seed's chosen SI-LoRA run
        long s0 = plan.seeds().get(0);
        List<Plots.Series> s = new ArrayList<>();
        int chosenK = plan.phiGrid().indexOf(r.row("si_lora").values().get(0));
        for (Unit u : List.of(new Unit(r.model(), r.domain(), s0, "si_lora", chosenK), new Unit(r.model(), r.domain(), s0, "si_lora_no_layer", -1),
                new Unit(r.model(), r.domain(), s0, "lora_nu_mu", -1))) {
            JsonNode j = units.get(u.id());
            double[] loss = doubles(j.get("step_loss"));
            double[] x = new double[loss.length];
            for (int i = 0; i < x.length; i++) x[i] = i + 1;
            s.add(new Plots.Series(u.method() + " task loss", x, loss));
            if (!u.method().equals("lora_nu_mu")) s.add(new Plots.Series(u.method() + " penalty", x, doubles(j.get("step_penalty"))));
        }
        Plots.lines(out.resolve("fig4_loss_vs_penalty_" + tag + ".png"), "Phase mu: task loss and phi-scaled penalty (" + tag + ", seed " + s0 + ")",
                "optimizer step", "value", s, true);
        // Fig. 7: log10 ||Omega_l|| over layers for each target kind, first seed
        Importance imp = Importance.load(out.resolve(tag).resolve("s" + s0).resolve("nu").resolve("importance.safetensors"));
        heatmap(out.resolve("fig7_omega_norm_heatmap_" + tag + ".png"), "log10 ||Omega_l|| after phase nu (" + tag + ", seed " + s0 + ")",
                imp.norms());
    }

    private static Plots.Front front(String name, List<Report.Row> rows) {
        Function<Function<Report.Row, Double>, double[]> f = g -> rows.stream().mapToDouble(g::apply).toArray();
        return new Plots.Front(name, f.apply(x -> 100 * x.domainAcc().mean()), f.apply(x -> 100 * x.domainAcc().lo()),
                f.apply(x -> 100 * x.domainAcc().hi()), f.apply(x -> x.deltaLoss().mean()), f.apply(x -> x.deltaLoss().lo()),
                f.apply(x -> x.deltaLoss().hi()));
    }

    private static double[] doubles(JsonNode a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asDouble();
        return v;
    }

    private static void heatmap(Path file, String title, Map<String, Double> norms) throws IOException {
        List<String> kinds = new ArrayList<>();
        List<Integer> layers = new ArrayList<>();
        for (String n : norms.keySet()) {
            String kind = n.substring(n.lastIndexOf('.') + 1);
            if (!kinds.contains(kind)) kinds.add(kind);
            int layer = layerOf(n);
            if (!layers.contains(layer)) layers.add(layer);
        }
        double[][] v = new double[layers.size()][kinds.size()];
        for (double[] row : v) Arrays.fill(row, Double.NaN);
        for (Map.Entry<String, Double> e : norms.entrySet()) {
            String kind = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
            v[layers.indexOf(layerOf(e.getKey()))][kinds.indexOf(kind)] = Math.log10(Math.max(e.getValue(), 1e-30));
        }
        Plots.heatmap(file, title, layers.stream().map(l -> "layer " + l).toArray(String[]::new), kinds.toArray(String[]::new), v, "log10 norm");
    }

    private static int layerOf(String module) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\.(\\d+)\\.").matcher(module);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** The layer-weight summary every report of a phase-ν importance carries: τ, λ's entropy, λ and ‖Ω_l‖ per module. */
    public static void describe(Importance imp, ObjectNode into) {
        into.put("tau", imp.metadata().get("tau"));
        into.put("tau_used", imp.metadata().get("tau_used"));
        into.put("lambda_entropy", Double.parseDouble(imp.metadata().get("lambda_entropy")));
        into.put("lambda_entropy_max", Double.parseDouble(imp.metadata().get("lambda_entropy_max")));
        if (imp.metadata().containsKey("recipe")) into.put("recipe", imp.metadata().get("recipe"));
        ObjectNode lam = into.putObject("lambda");
        imp.lambdas().forEach(lam::put);
        ObjectNode norms = into.putObject("omega_norm");
        imp.norms().forEach(norms::put);
    }
}
