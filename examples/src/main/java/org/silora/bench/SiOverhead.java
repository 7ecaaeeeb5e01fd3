package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.si.SiMode;
import org.silora.si.SiRecorder;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code si_overhead}: a LoRA step's time with SI recording ÷ without, per {@link SiMode}. Two identical rigs step
 * in turn, one with a recorder and one without, on the same model and batch, so a slow spell of the machine hits
 * both; each side's figure is its median.
 *
 * <pre>{@code
 * ObjectNode si = SiOverhead.measure(om, Subject.tiny(work), opt, opt.batch(), opt.seqLen());
 * double overhead = si.get("paper").asDouble();
 * }</pre>
 */
final class SiOverhead {

    /** Median step seconds without and with SI recording. */
    record Pair(double without, double with) {
        double ratio() {
            return with / without;
        }
    }

    private SiOverhead() {
    }

    /**
     * Per mode ({@code paper}, {@code exact}): the ratio under the mode's name, {@code <mode>_step_s} (with SI) and
     * {@code <mode>_without_step_s}, at {@code rows × tokens} per step.
     */
    static ObjectNode measure(ObjectMapper om, Subject subject, Bench.Options opt, int rows, int tokens) {
        ObjectNode o = om.createObjectNode();
        for (SiMode mode : SiMode.values()) {
            Pair p = pair(subject, mode, opt, rows, tokens);
            String m = mode.name().toLowerCase(Locale.ROOT);
            o.put(m, p.ratio());
            o.put(m + "_step_s", p.with());
            o.put(m + "_without_step_s", p.without());
        }
        return o;
    }

    /** Interleaved steps with and without a recorder of {@code mode}: twice the options' repeats after their warm-up. */
    static Pair pair(Subject subject, SiMode mode, Bench.Options opt, int rows, int tokens) {
        try (Rig without = Rig.of(subject, rows, tokens, 5); Rig with = Rig.of(subject, rows, tokens, 5)) {
            with.trainer().addListener(SiRecorder.builder(with.model()).mode(mode).build());
            for (int i = 0; i < opt.warmup(); i++) {
                without.step();
                with.step();
            }
            List<Double> ta = new ArrayList<>();
            List<Double> tb = new ArrayList<>();
            for (int i = 0; i < opt.repeats() * 2; i++) {
                long t0 = System.nanoTime();
                without.step();
                long t1 = System.nanoTime();
                with.step();
                long t2 = System.nanoTime();
                ta.add((t1 - t0) / 1e9);
                tb.add((t2 - t1) / 1e9);
            }
            return new Pair(Stat.of(ta).median(), Stat.of(tb).median());
        }
    }
}
