package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the figures were measured on ({@code machine}) and this process's peak resident memory: the bench's
 * figures are ratios against this machine, and these say which machine.
 */
final class Machine {

    private Machine() {
    }

    /** CPUs, OS, JVM, CPU model and memory (Linux), ND4J's backend and the thread settings in effect. */
    static ObjectNode json(ObjectMapper om) {
        ObjectNode m = om.createObjectNode();
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        try {
            Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
                    .ifPresent(l -> m.put("cpu", l.substring(l.indexOf(':') + 1).trim()));
            Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal")).findFirst()
                    .ifPresent(l -> m.put("memory_mb", Long.parseLong(l.replaceAll("\\D+", "")) / 1024));
        } catch (IOException | RuntimeException ignored) {
            // not Linux: leave them out
        }
        m.put("nd4j_backend", Nd4j.getBackend().getClass().getSimpleName());
        ObjectNode t = m.putObject("threads");
        t.put("OMP_WAIT_POLICY", String.valueOf(System.getenv("OMP_WAIT_POLICY")));
        t.put("OMP_NUM_THREADS", String.valueOf(System.getenv("OMP_NUM_THREADS")));
        t.put("blas_max_threads", Nd4j.factory().blas().getMaxThreads());
        t.put("nd4j_max_threads", Nd4j.getEnvironment().maxThreads());
        return m;
    }

    /** This process's peak resident set ({@code VmHWM}) in MB, or -1 where {@code /proc} does not tell. */
    static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D+", "")) / 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
