package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.console.ProgressBar;
import org.silora.hf.AtomicFiles;
import org.silora.si.Importance;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The paper's experiment end to end on the shipped data and tiny models, as a real experiment: for every seed, phase ν
 * (LoRA on Brown with SI recorded by this project's recipe and the authors' recipe) and every phase-μ method with the
 * same budget on the domain's facts; each swept method (φ of SI-LoRA, λ of EWC-LoRA, the replay fraction, the steps of
 * LoRA(μ)) gives a trade-off front; every figure is a mean over seeds with a 95 % interval. The work is split into
 * {@link Unit}s that single-threaded worker processes take in parallel ({@link DemoWorker}, each unit run by
 * {@link UnitRunner}); this class only orchestrates: it prepares the output folder, runs or supervises the workers, then
 * has {@link Results} aggregate the units' figures into {@code results.json} and the Markdown tables (through
 * {@link Report}) and {@link Figures} draw the plots. Every file it writes is written to a temporary file and renamed.
 *
 * <pre>{@code
 * Experiment.Outcome o = Experiment.run(DemoPlan.quick().withWorkers(0), Path.of("silora-out/demo"), System.err, null);
 * // or with worker processes: launcher = dir -> new ProcessBuilder("java", "-jar", "silora.jar", "demo-worker", "--out", dir.toString())
 * }</pre>
 */
public final class Experiment {

    /** Methods in report order, with SPEC §4/§7's names. */
    public static final List<String> METHODS = List.of("base", "lora_mu", "lora_nu_mu", "rslora", "ewc_lora", "si_lora",
            "si_lora_no_layer", "lora_mu_early", "replay", "si_lora_authors", "si_budget", "si_dial", "wise_ft");

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
        Outcome o = Results.of(plan, results);
        for (Report.Run r : o.runs()) Figures.draw(plan, out, r, results);
        AtomicFiles.writeString(out.resolve("results.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(o.json()));
        return o;
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
        Files.createDirectories(DemoWorker.failed(work));   // the supervisor looks into it before a worker has started
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
                // the log grows while the worker runs: it is renamed to worker-<i>.log once the worker has ended
                pb.redirectErrorStream(true).redirectOutput(partialLog(work, i).toFile());
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
            for (int i = 0; i < procs.size(); i++) {
                if (Files.exists(partialLog(work, i))) Files.move(partialLog(work, i), work.resolve("worker-" + i + ".log"), StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.ATOMIC_MOVE);
            }
        }
    }

    /** Where worker {@code i} logs while it runs. */
    private static Path partialLog(Path work, int i) {
        return work.resolve("worker-" + i + ".log.part");
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
