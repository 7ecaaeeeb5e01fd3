package org.silora.cli;

import org.silora.demo.DemoPlan;
import org.silora.demo.DemoWorker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code silora demo-worker --out DIR} (hidden): one of the demo's worker processes, started by {@code silora demo};
 * takes units of the plan in {@code DIR/work/plan.json} until none is left.
 */
@Command(name = "demo-worker", hidden = true, mixinStandardHelpOptions = true,
        description = "A worker process of 'silora demo' (started by it; not for direct use).")
final class DemoWorkerCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the demo's output folder")
    Path out;

    @Override
    public Integer call() throws Exception {
        DemoPlan plan = DemoWorker.storedPlan(out);
        String worker = System.getenv().getOrDefault(DemoWorker.WORKER_ENV, "0");
        return new DemoWorker(plan, out).run(DemoWorker.statusFile(out, worker)) ? 0 : 1;
    }
}
