package org.silora.cli;

import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code java -jar silora.jar <command> ...}: the commands of SPEC §4. Bad input ends with one line on stderr
 * ({@code silora <command>: error: ...}) and a non-zero exit: 1 for unusable input files or values, 2 for a
 * malformed command line.
 */
@Command(name = "silora", mixinStandardHelpOptions = true, version = "silora 0.1.0",
        description = "SI-LoRA for Deeplearning4j: LoRA fine-tuning of Hugging Face LLaMA/GPT-J checkpoints that keeps general ability.",
        subcommands = {
                DemoCommand.class,
                LogitsCommand.class,
                MergeCommand.class,
                DialCommand.class,
                TrainGeneralCommand.class,
                TrainDomainCommand.class,
                FisherCommand.class,
                EvalCommand.class,
                ContinualMnistCommand.class,
                BenchCommand.class,
                PretrainCommand.class,
                DemoWorkerCommand.class,
        })
public final class SiloraMain implements Runnable {

    /** Environment marker so the relaunch below happens once. */
    static final String THREADS_SET = "SILORA_THREADS_SET";
    /** Names the JavaCPP limits the launcher set for the JVM it started (see {@link #inheritedJvmArgs}). */
    static final String LIMITS_SET = "SILORA_LAUNCHER_LIMITS";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        if (needsThreadRelaunch()) {
            System.exit(relaunchWithTunedThreads(args));
        }
        System.exit(execute(args));
    }

    private static PrintStream json = System.out;

    /**
     * Where commands print their JSON: the real stdout. While a command runs, {@code System.out} points to stderr,
     * because libraries print there (SameDiff announces "Added differentiated op ..." on stdout).
     */
    static PrintStream json() {
        return json;
    }

    /** Runs a command line in this JVM and returns its exit code (used by tests). */
    public static int execute(String... args) {
        return execute(new CommandLine(new SiloraMain()), args);
    }

    /**
     * Runs a command line of {@code root}'s commands in this JVM, with this launcher's output and error handling (JSON
     * on stdout, one error line); e.g. the spark jar's, which holds the training commands with a cluster mixin.
     */
    public static int execute(CommandLine root, String... args) {
        PrintStream realOut = System.out;
        json = realOut;
        System.setOut(LibraryOutput.to(System.err));
        try {
            return run(root, args, realOut);
        } finally {
            realOut.flush();
            System.setOut(realOut);
        }
    }

    private static int run(CommandLine cl, String[] args, PrintStream realOut) {
        try {
            return parseAndRun(cl, args, realOut);
        } catch (Error e) {
            // planned runs should not get here; when one does (a plan that was too low, another process taking
            // memory), it ends as one line like any bad input. (ND4J's static setup wraps an out-of-memory error in an
            // ExceptionInInitializerError.)
            OutOfMemoryError oom = outOfMemory(e);
            if (oom == null) throw e;
            System.err.println("silora " + (args.length > 0 ? args[0] : "") + ": error: out of memory ("
                    + errorText(oom) + "); lower --batch-size or --seq-len, hold the weights in 16 bits for inference "
                    + "(--weights-dtype bf16), or give the run more memory");
            return 1;
        }
    }

    private static OutOfMemoryError outOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError oom) return oom;
            if (c.getCause() == c) break;
        }
        return null;
    }

    private static int parseAndRun(CommandLine cl, String[] args, PrintStream realOut) {
        cl.setOut(new java.io.PrintWriter(realOut, true));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            OutOfMemoryError oom = outOfMemory(ex);
            if (oom != null) throw oom;
            String name = cmd.getCommandName();
            String msg = errorText(ex);
            cmd.getErr().println(cl.getCommandName() + " " + name + ": error: " + msg);
            if (System.getenv("SILORA_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            return 1;
        });
        return cl.execute(args);
    }

    /**
     * The text after "error: ": the message on one line, alone for the failures a user causes (bad input, a file that
     * cannot be read, a run that diverged) and after the exception's class name for anything else.
     */
    static String errorText(Throwable ex) {
        Throwable t = ex instanceof UncheckedIOException && ex.getCause() != null ? ex.getCause() : ex;
        String msg = Messages.oneLine(t.getMessage());
        if (msg.isEmpty()) return t.getClass().getSimpleName();
        boolean users = t instanceof ModelFormatException || t instanceof IllegalArgumentException
                || t instanceof IOException || t instanceof org.silora.lora.NonFiniteException;
        return users ? msg : t.getClass().getSimpleName() + ": " + msg;
    }

    /**
     * ND4J's OpenMP threads busy-wait by default, which on small machines made SameDiff steps 1.4-12x slower
     * (README, Performance: the thread settings measured side by side). OpenMP reads its settings from the environment when the native library loads, so
     * the launcher sets them for itself by starting the JVM once more with them, unless the user set them.
     */
    private static boolean needsThreadRelaunch() {
        return System.getenv(THREADS_SET) == null && System.getenv("OMP_WAIT_POLICY") == null
                && System.getenv("SILORA_NO_RELAUNCH") == null;
    }

    /**
     * ND4J's off-heap arrays are freed when the Java GC collects their owners, and JavaCPP only forces a GC when its
     * own limit (by default the heap size, and twice that for physical memory) is reached: with a large heap, a
     * training loop's garbage grew to 15 GB before that happened and the kernel killed the process. Unless the
     * user set them, the relaunch bounds them to a quarter (arrays) and 60 % (process) of the machine's memory.
     */
    /**
     * This JVM's options without the JavaCPP limits the launcher chose for this JVM's own command ({@code chosen}: the
     * options' names, comma-separated, from {@link #LIMITS_SET}): they were sized for that command (60 % of the
     * machine for {@code bench}), not for the command a child runs. Limits the user set stay.
     */
    static List<String> inheritedJvmArgs(List<String> jvmArgs, String chosen) {
        if (chosen == null || chosen.isBlank()) return jvmArgs;
        java.util.Set<String> drop = java.util.Set.of(chosen.split(","));
        return jvmArgs.stream().filter(a -> a.indexOf('=') < 0 || !drop.contains(a.substring(0, a.indexOf('=')))).toList();
    }

    static List<String> offHeapLimits(List<String> jvmArgs, String[] args) {
        List<String> out = new ArrayList<>();
        long total = physicalMemory();
        if (total <= 0) return out;
        long[] limits = limits(total, args);
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("-Dorg.bytedeco.javacpp.maxbytes="))) {
            out.add("-Dorg.bytedeco.javacpp.maxbytes=" + limits[0]);
        }
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("-Dorg.bytedeco.javacpp.maxphysicalbytes="))) {
            out.add("-Dorg.bytedeco.javacpp.maxphysicalbytes=" + limits[1]);
        }
        return out;
    }

    /**
     * JavaCPP's limits for a command line: for a run on a model larger than 1 GB in float32, the run's own memory
     * budget (it was planned to fit; the process limit is the last guard and ends as one line); otherwise a quarter
     * and 60 % of the machine, which make the garbage collector free arrays early.
     */
    static long[] limits(long total, String[] args) {
        long small0 = Math.max(2L << 30, total / 4);
        long small1 = Math.max(4L << 30, total * 6 / 10);
        String model = value(args, "--model");
        if (model == null) return new long[]{small0, small1};
        long f32;
        try (org.silora.hf.safetensors.SafetensorsCheckpoint ck =
                     org.silora.hf.safetensors.SafetensorsCheckpoint.open(org.silora.hf.ModelLocation.resolve(model))) {
            f32 = 0;
            for (String n : ck.names()) f32 += ck.info(n).numel() * 4;
        } catch (RuntimeException e) {
            return new long[]{small0, small1};   // the command itself reports what is wrong with the model
        }
        if (f32 < 1_000_000_000L) return new long[]{small0, small1};
        long budget;
        try {
            budget = MemoryOptions.budget(value(args, "--max-memory"));
        } catch (IllegalArgumentException e) {
            return new long[]{small0, small1};
        }
        return new long[]{Math.min(budget, total), Math.min(total - (256L << 20), budget + (512L << 20))};
    }

    private static String value(String[] args, String option) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(option) && i + 1 < args.length) return args[i + 1];
            if (args[i].startsWith(option + "=")) return args[i].substring(option.length() + 1);
        }
        return null;
    }

    private static long physicalMemory() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) return sun.getTotalMemorySize();
        return -1;
    }

    /**
     * The command line that runs {@code silora args} in a new JVM like this one: same java binary, same JVM options
     * plus {@code extraJvmArgs}, same class path.
     */
    public static List<String> javaCommand(List<String> extraJvmArgs, List<String> args) {
        return javaCommand(ManagementFactory.getRuntimeMXBean().getInputArguments(), extraJvmArgs, args);
    }

    private static List<String> javaCommand(List<String> jvmArgs, List<String> extraJvmArgs, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(jvmArgs);
        cmd.addAll(extraJvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(SiloraMain.class.getName());
        cmd.addAll(args);
        return cmd;
    }

    /**
     * {@code silora args} in a new JVM set up as the launcher sets up the command it runs: passive OpenMP and
     * OpenBLAS threads, JavaCPP limits for the run ({@link #offHeapLimits}), no further relaunch.
     */
    public static ProcessBuilder childProcess(List<String> args) {
        List<String> jvm = inheritedJvmArgs(ManagementFactory.getRuntimeMXBean().getInputArguments(), System.getenv(LIMITS_SET));
        List<String> limits = offHeapLimits(jvm, args.toArray(new String[0]));
        ProcessBuilder pb = new ProcessBuilder(javaCommand(jvm, limits, args));
        // which limits the launcher chose (not the user), so that a child of that child chooses its own again
        pb.environment().put(LIMITS_SET, String.join(",", limits.stream().map(a -> a.substring(0, a.indexOf('='))).toList()));
        pb.environment().put(THREADS_SET, "1");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        pb.environment().putIfAbsent("OMP_NUM_THREADS", Integer.toString(Runtime.getRuntime().availableProcessors()));
        // OpenBLAS's own worker threads spin (sched_yield) for ~2^28 cycles after each gemm; on 2 cores that spinning
        // took a third of the CPU samples of a training step away from ND4J's elementwise loops
        pb.environment().putIfAbsent("OPENBLAS_THREAD_TIMEOUT", "4");
        return pb;
    }

    private static int relaunchWithTunedThreads(String[] args) {
        ProcessBuilder pb = childProcess(List.of(args)).inheritIO();
        try {
            Process p = pb.start();
            Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));
            return p.waitFor();
        } catch (IOException | InterruptedException e) {
            // could not relaunch: run here with the defaults rather than not at all
            return execute(args);
        }
    }
}
