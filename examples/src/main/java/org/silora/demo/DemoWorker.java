package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.hf.AtomicFiles;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Takes the demo's units one at a time until none is left: a unit is claimed by creating
 * {@code work/claims/<id>} (atomic, so two workers never run the same unit), runs once its dependencies' results are
 * in {@code work/done/<id>.json}, and its own result is written there atomically. A failing unit leaves
 * {@code work/failed/<id>.txt} with a one-line reason and stops every worker. Several worker processes share one
 * output folder; results already there (an earlier run of the same plan) are reused.
 *
 * <pre>{@code
 * new DemoWorker(plan, out).run(status -> System.err.println(status));   // in this JVM
 * }</pre>
 */
public final class DemoWorker {

    /** What a worker reports while it runs a unit. */
    public interface Status {
        void update(String unitId, int stepsDone, int stepsTotal);
    }

    /** Environment variable holding a worker process's index (for its status file). */
    public static final String WORKER_ENV = "SILORA_DEMO_WORKER";

    private final DemoPlan plan;
    private final Path out;
    private final Path work;
    private final ObjectMapper om = new ObjectMapper();

    public DemoWorker(DemoPlan plan, Path out) {
        this.plan = plan;
        this.out = out;
        this.work = out.resolve("work");
    }

    /** The plan that {@link Experiment} stored for its workers in {@code out/work/plan.json}. */
    public static DemoPlan storedPlan(Path out) throws IOException {
        return DemoPlan.fromJson(new ObjectMapper().readTree(out.resolve("work").resolve("plan.json").toFile()));
    }

    /** A status that the supervising process shows beside its progress bar: {@code work/status/worker-<i>.txt}. */
    public static Status statusFile(Path out, String worker) {
        Path f = out.resolve("work").resolve("status").resolve("worker-" + worker + ".txt");
        long[] last = {0};
        return (id, d, t) -> {
            long now = System.nanoTime();
            if (d >= 0 && d != t && now - last[0] < 1_000_000_000L) return;
            last[0] = now;
            AtomicFiles.writeStringUnchecked(f, d < 0 ? id + " done" : id + " step " + d + "/" + t);
        };
    }

    static Path done(Path work, Unit u) {
        return work.resolve("done").resolve(u.id() + ".json");
    }

    static Path failed(Path work) {
        return work.resolve("failed");
    }

    /** Runs units until every one is done or claimed by another worker; false when a unit failed anywhere. */
    public boolean run(Status status) throws IOException, InterruptedException {
        Files.createDirectories(work.resolve("done"));
        Files.createDirectories(work.resolve("claims"));
        Files.createDirectories(failed(work));
        UnitRunner runner = new UnitRunner(plan, out);
        List<Unit> units = Unit.all(plan);
        Map<String, JsonNode> results = new HashMap<>();
        while (true) {
            if (anyFailed()) return false;
            boolean unclaimed = false;
            Unit next = null;
            for (Unit u : units) {
                if (Files.exists(done(work, u)) || Files.exists(work.resolve("claims").resolve(u.id()))) continue;
                unclaimed = true;
                if (u.dependencies(plan).stream().allMatch(dep -> Files.exists(done(work, dep))) && claim(u)) {
                    next = u;
                    break;
                }
            }
            if (next == null) {
                if (!unclaimed) return !anyFailed();
                Thread.sleep(200);   // what is left waits for units another worker is running
                continue;
            }
            for (Unit dep : next.dependencies(plan)) {
                results.computeIfAbsent(dep.id(), k -> read(done(work, dep)));
            }
            Unit u = next;
            ObjectNode r;
            try {
                r = runner.run(u, results, (d, t) -> status.update(u.id(), d, t));
            } catch (RuntimeException | IOException | OutOfMemoryError e) {
                String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
                AtomicFiles.writeString(failed(work).resolve(u.id() + ".txt"), u.id() + ": " + msg + "\n");
                throw e;
            }
            AtomicFiles.writeString(done(work, u), om.writerWithDefaultPrettyPrinter().writeValueAsString(r));
            results.put(u.id(), r);
            status.update(u.id(), -1, -1);
        }
    }

    private boolean claim(Unit u) throws IOException {
        try {
            Files.createFile(work.resolve("claims").resolve(u.id()));
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        }
    }

    private boolean anyFailed() throws IOException {
        try (var s = Files.list(failed(work))) {
            return s.findAny().isPresent();
        }
    }

    private JsonNode read(Path p) {
        try {
            return om.readTree(p.toFile());
        } catch (IOException e) {
            throw new IllegalStateException(p + ": " + e.getMessage());
        }
    }
}
