package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.lora.TrainingOptions;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * {@code silora bench --profile}: where a LoRA training step's time goes, on the shipped tiny LLaMA and (unless the
 * options leave it out) the synthetic d512 × 8 model, through both engines: the direct engine per phase (products,
 * attention, norms, activation, rotary, loss), SameDiff per op type and per (op, input shapes), between ops
 * (SameDiff's bookkeeping) and outside SameDiff (the trainer's optimizer and listeners). JSON back, Markdown tables
 * to the log.
 *
 * <pre>{@code
 * ObjectNode p = StepProfile.run(Bench.Options.quick(), Path.of("silora-out/bench"), System.err);
 * }</pre>
 */
public final class StepProfile {

    private StepProfile() {
    }

    /** {@code {machine, profiles: [{model, direct, samediff}, ...]}}. */
    public static ObjectNode run(Bench.Options opt, Path work, PrintStream log) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.set("machine", Machine.json(om));
        ArrayNode arr = root.putArray("profiles");
        arr.add(one(om, Subject.tiny(work), opt, log));
        if (opt.largeModel()) arr.add(one(om, Subject.large(), opt, log));
        return root;
    }

    private static ObjectNode one(ObjectMapper om, Subject subject, Bench.Options opt, PrintStream log) {
        ObjectNode o = om.createObjectNode();
        o.put("model", subject.name());
        o.set("direct", direct(om, subject, opt, log));
        o.set("samediff", sameDiff(om, subject, opt, log));
        return o;
    }

    /** Where the direct engine's step goes, per phase. */
    private static ObjectNode direct(ObjectMapper om, Subject subject, Bench.Options opt, PrintStream log) {
        double total;
        Map<String, double[]> phases;
        try (Rig rig = Rig.of(subject, opt.batch(), opt.seqLen(), 7, TrainingOptions.Engine.DIRECT)) {
            for (int i = 0; i < opt.warmup(); i++) rig.step();
            rig.trainer().profilePhases(true);
            long t0 = System.nanoTime();
            for (int i = 0; i < opt.repeats(); i++) rig.step();
            total = (System.nanoTime() - t0) / 1e9;
            phases = rig.trainer().stepPhases();
            rig.trainer().profilePhases(false);
        }
        int n = opt.repeats();
        ObjectNode o = om.createObjectNode();
        o.put("engine", "direct");
        o.put("steps", n);
        o.put("step_s", total / n);
        double inPhases = 0;
        ArrayNode arr = o.putArray("phases");
        StringBuilder table = new StringBuilder("| phase | calls | ms | share |\n|---|---:|---:|---:|\n");
        for (Map.Entry<String, double[]> e : phases.entrySet()) {
            double sec = e.getValue()[0] / n;
            inPhases += sec;
            ObjectNode x = arr.addObject();
            x.put("phase", e.getKey());
            x.put("calls_per_step", e.getValue()[1] / n);
            x.put("s_per_step", sec);
            table.append(String.format(Locale.ROOT, "| %s | %.0f | %.1f | %.1f %% |%n", e.getKey(), e.getValue()[1] / n, sec * 1e3, 100 * sec / (total / n)));
        }
        double rest = total / n - inPhases;
        o.put("outside_phases_s", rest);
        table.append(String.format(Locale.ROOT, "| (optimizer, listeners, batch) | | %.1f | %.1f %% |%n", rest * 1e3, 100 * rest / (total / n)));
        log.printf(Locale.ROOT, "%n%s, direct engine: %.3f s/step%n", subject.name(), total / n);
        log.print(table);
        return o;
    }

    /** Where SameDiff's step goes, per op type and per (op, input shapes), and between ops. */
    private static ObjectNode sameDiff(ObjectMapper om, Subject subject, Bench.Options opt, PrintStream log) {
        OpProfiler p = new OpProfiler();
        double total;
        try (Rig rig = Rig.of(subject, opt.batch(), opt.seqLen(), 7, TrainingOptions.Engine.SAMEDIFF)) {
            rig.model().lm().sameDiff().addListeners(p);
            for (int i = 0; i < opt.warmup(); i++) {
                rig.step();
                p.stepDone();
            }
            p.reset();
            long t0 = System.nanoTime();
            for (int i = 0; i < opt.repeats(); i++) {
                rig.step();
                p.stepDone();
            }
            total = (System.nanoTime() - t0) / 1e9;
        }
        int n = opt.repeats();
        double outside = total - p.opSeconds() - p.gapSeconds();
        ObjectNode o = om.createObjectNode();
        o.put("engine", "samediff");
        o.put("steps", n);
        o.put("step_s", total / n);
        o.put("ops_s", p.opSeconds() / n);
        o.put("between_ops_s", p.gapSeconds() / n);
        o.put("outside_samediff_s", outside / n);
        ArrayNode ops = o.putArray("ops");
        for (OpProfiler.Entry e : p.entries()) {
            ObjectNode x = ops.addObject();
            x.put("op", e.op());
            x.put("calls_per_step", e.calls() / (double) n);
            x.put("s_per_step", e.nanos() / 1e9 / n);
            x.put("largest_output", e.example());
        }
        log.printf(Locale.ROOT, "%n%s, SameDiff engine: %.3f s/step (ops %.3f, between ops %.3f, outside SameDiff %.3f)%n",
                subject.name(), total / n, p.opSeconds() / n, p.gapSeconds() / n, outside / n);
        log.print(p.table(25));
        log.print(p.detailTable(20));
        return o;
    }
}
