package org.silora.cli;

import org.silora.demo.DemoPlan;
import org.silora.demo.Experiment;
import org.silora.demo.ReportPage;
import org.silora.hf.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code silora demo [--quick] [--out DIR] [--workers N]}: the paper's experiment on the shipped data and tiny models. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The main job: for 3 seeds, phase nu with SI recording, then every method (LoRA(mu), LoRA(nu+mu), rsLoRA, EWC-LoRA, "
                + "SI-LoRA, SI-LoRA -layer, the authors' SI recipe, replay, LoRA(mu) stopped early) on the shipped domain task, with "
                + "trade-off fronts; prints Markdown tables, writes report.md, results.json and PNG plots.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "LLaMA on the medical domain: about 15 minutes on 2 cores (default: both models, both domains)")
    boolean quick;

    @Option(names = "--out", defaultValue = "silora-out/demo", paramLabel = "DIR", description = "output folder (default ${DEFAULT-VALUE}); "
            + "results of an earlier run of the same plan there are reused")
    Path out;

    @Option(names = "--workers", paramLabel = "N", description = "single-threaded worker processes (default: the number of cores, "
            + "at most one per 3 GiB of memory)")
    Integer workers;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        DemoPlan plan = quick ? DemoPlan.quick() : DemoPlan.full();
        int w = workers != null ? workers : defaultWorkers();
        if (w < 1) throw new IllegalArgumentException("--workers must be >= 1, got " + w);
        TrainOptions.checkOutFolder(out);
        plan = plan.withWorkers(w);
        System.err.println("silora demo" + (quick ? " --quick" : "") + ": models " + plan.models() + ", domains " + plan.domains()
                + ", seeds " + plan.seeds() + ", " + w + " workers, output in " + out.toAbsolutePath());
        Experiment.Outcome o = Experiment.run(plan, out, System.err,
                dir -> SiloraMain.childProcess(List.of("demo-worker", "--out", dir.toAbsolutePath().toString())));
        double minutes = (System.nanoTime() - t0) / 6e10;
        AtomicFiles.writeString(out.resolve("report.md"), ReportPage.markdown(plan, o, minutes));
        SiloraMain.json().print(o.markdown());
        SiloraMain.json().println();
        System.err.printf(Locale.ROOT, "demo done in %.1f min: %s, %s and plots%n", minutes, out.resolve("report.md"), out.resolve("results.json"));
        return 0;
    }

    /** One per core, at most one per {@value #WORKER_GB} GiB of the machine's memory budget (a worker peaks near 2 GB). */
    static int defaultWorkers() {
        long byMemory = Math.max(1, org.silora.memory.MachineMemory.defaultBudget() / ((long) WORKER_GB << 30));
        return (int) Math.min(Runtime.getRuntime().availableProcessors(), byMemory);
    }

    static final int WORKER_GB = 3;
}
