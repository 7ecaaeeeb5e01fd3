package org.silora.memory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The machine's memory, and sizes as people write them ({@code 16g}, {@code 800MB}, {@code 1.5GiB}).
 *
 * <pre>{@code
 * long budget = MachineMemory.parseSize("20g");        // 20 GiB
 * long machine = MachineMemory.physicalBytes();
 * }</pre>
 */
public final class MachineMemory {

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(i?b?)", Pattern.CASE_INSENSITIVE);

    private MachineMemory() {
    }

    /** Physical memory in bytes: {@code MemTotal} of /proc/meminfo, else what the JVM reports, else 0. */
    public static long physicalBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: ask the JVM
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }

    /**
     * What a run may use by default: the machine's memory less what the system keeps for itself (the larger of 1 GiB
     * and 5 %).
     */
    public static long defaultBudget() {
        long total = physicalBytes();
        if (total <= 0) return Long.MAX_VALUE / 4;
        return total - Math.max(1L << 30, total / 20);
    }

    /** Parses {@code 16g}, {@code 16GB}, {@code 16GiB}, {@code 800m}, {@code 1.5g} or plain bytes (powers of 1024). */
    public static long parseSize(String s) {
        Matcher m = SIZE.matcher(s == null ? "" : s.trim());
        if (!m.matches()) throw new IllegalArgumentException("not a memory size: '" + s + "' (use e.g. 16g, 800m, 1.5GiB)");
        double v = Double.parseDouble(m.group(1));
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        double bytes = v * (1L << shift);
        if (!(bytes >= 1) || bytes > Long.MAX_VALUE / 2) throw new IllegalArgumentException("memory size out of range: '" + s + "'");
        return (long) bytes;
    }
}
