package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.bench.Bench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code silora bench [--json]}: the benchmark suite of SPEC §6. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "The benchmark suite: sgemm peak, LoRA training tokens/s and MFU, SI overhead, importance cost against EWC, import speed, peak RSS; prints JSON.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--json", description = "print only the JSON (no table on stderr)")
    boolean json;

    @Option(names = "--quick", description = "smaller measurements (no large model, smaller import checkpoint)")
    boolean quick;

    @Option(names = "--profile", description = "instead of the suite: per-op profile of LoRA training steps (where the time goes)")
    boolean profile;

    @Option(names = "--step-times", hidden = true, description = "only the LoRA step times under this JVM's thread settings (used by the suite's child JVMs)")
    boolean stepTimes;

    @Option(names = "--warmup", paramLabel = "N", description = "untimed steps before timing (default 5 quick, 20 otherwise)")
    Integer warmup;

    @Option(names = "--out", defaultValue = "silora-out/bench", paramLabel = "DIR", description = "work folder (default ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (stepTimes) {
            Bench.Options o = quick ? Bench.Options.quick() : Bench.Options.standard();
            SiloraMain.json().println(new ObjectMapper().writeValueAsString(Bench.stepTimes(o, out, !quick)));
            return 0;
        }
        if (profile) {
            Bench.Options o = quick ? Bench.Options.quick() : Bench.Options.standard();
            if (warmup != null) o = new Bench.Options(o.repeats(), warmup, o.batch(), o.seqLen(), o.samples(), o.importBytes(), o.largeModel());
            ObjectNode p = Bench.profile(o, out, System.err);
            SiloraMain.json().println(new ObjectMapper().writeValueAsString(p));
            return 0;
        }
        ObjectNode r = Bench.run(quick ? Bench.Options.quick() : Bench.Options.standard(), out, System.err);
        if (!json) System.err.print(Bench.table(r));
        SiloraMain.json().println(new ObjectMapper().writeValueAsString(r));
        return 0;
    }
}
