package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code thread_settings}: the LoRA step time under four OpenMP / OpenBLAS thread settings side by side, each in its
 * own JVM (both libraries read them once, at load time), running {@code silora bench --step-times}, whose side is
 * {@link #stepTimes}.
 *
 * <pre>{@code
 * ArrayNode rows = ThreadSettings.compare(om, opt, work, System.err, jvm);   // in the suite
 * ObjectNode mine = ThreadSettings.stepTimes(Bench.Options.quick(), work, false);   // in each child JVM
 * }</pre>
 */
public final class ThreadSettings {

    /** One setting: its name in the JSON and the environment variables it sets. */
    record Setting(String name, Map<String, String> env) {
    }

    /** The variables each child JVM starts without, so that only its setting's apply. */
    static final List<String> VARIABLES = List.of("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT");

    private ThreadSettings() {
    }

    static List<Setting> settings() {
        String cores = Integer.toString(Runtime.getRuntime().availableProcessors());
        return List.of(
                new Setting("ND4J defaults (busy-waiting OpenMP, spinning OpenBLAS)", Map.of("OMP_NUM_THREADS", cores)),
                new Setting("OMP_WAIT_POLICY=PASSIVE", Map.of("OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", cores)),
                new Setting("PASSIVE + OPENBLAS_THREAD_TIMEOUT=4 (the CLI's default)",
                        Map.of("OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", cores, "OPENBLAS_THREAD_TIMEOUT", "4")),
                new Setting("1 OpenMP thread, PASSIVE, OPENBLAS_THREAD_TIMEOUT=4",
                        Map.of("OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", "1", "OPENBLAS_THREAD_TIMEOUT", "4")));
    }

    /**
     * One row per setting: {@code setting}, {@code env}, and the child's {@code tiny_step_s} (and {@code large_step_s}
     * unless the options leave the large model out), or {@code error} when the child failed; a failed child does not
     * fail the bench.
     */
    static ArrayNode compare(ObjectMapper om, Bench.Options opt, Path work, PrintStream log, Jvm jvm) {
        ArrayNode out = om.createArrayNode();
        for (Setting ts : settings()) {
            log.println("bench: thread settings, " + ts.name());
            List<String> args = new ArrayList<>(List.of("bench", "--step-times", "--out", work.toString()));
            if (!opt.largeModel()) args.add("--quick");
            ProcessBuilder pb = new ProcessBuilder(jvm.command(args)).redirectError(ProcessBuilder.Redirect.DISCARD);
            for (String k : VARIABLES) pb.environment().remove(k);
            pb.environment().putAll(ts.env());
            pb.environment().put("SILORA_THREADS_SET", "1");   // no relaunch: measure exactly these settings
            ObjectNode row = out.addObject();
            row.put("setting", ts.name());
            row.set("env", om.valueToTree(ts.env()));
            try {
                Process p = pb.start();
                String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (p.waitFor() != 0) throw new IOException("exit " + p.exitValue());
                String last = stdout.substring(stdout.lastIndexOf('\n') + 1);
                row.setAll((ObjectNode) om.readTree(last));
            } catch (IOException | InterruptedException | RuntimeException e) {
                row.put("error", String.valueOf(e.getMessage()));
            }
        }
        return out;
    }

    /**
     * Median LoRA step time of the shipped tiny LLaMA ({@code tiny_step_s}) and, with {@code large}, the synthetic
     * d512 × 8 model ({@code large_step_s}) under this JVM's thread settings, at the options' step shape.
     */
    public static ObjectNode stepTimes(Bench.Options opt, Path work, boolean large) throws IOException {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("tiny_step_s", stepTime(Subject.tiny(work), opt));
        if (large) o.put("large_step_s", stepTime(Subject.large(), opt));
        return o;
    }

    private static double stepTime(Subject subject, Bench.Options opt) {
        try (Rig rig = Rig.of(subject, opt.batch(), opt.seqLen(), 7)) {
            return Stat.time(opt.warmup(), opt.repeats(), rig::step).median();
        }
    }
}
