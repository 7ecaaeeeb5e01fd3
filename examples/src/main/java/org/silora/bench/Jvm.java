package org.silora.bench;

import java.util.List;

/**
 * How the bench runs {@code silora} commands in child JVMs; the command line's launcher supplies it, so the bench
 * does not depend on {@code org.silora.cli} (which depends on the bench).
 *
 * <pre>{@code
 * Bench.run(Bench.Options.standard(), work, System.err, jvm);   // jvm: from BenchCommand, backed by SiloraMain
 * }</pre>
 */
public interface Jvm {

    /** {@code silora args} in a new JVM set up as the launcher sets up the command it runs (threads, memory limits). */
    ProcessBuilder child(List<String> args);

    /** The bare command line that runs {@code silora args} in a JVM like this one (same options and class path). */
    List<String> command(List<String> args);
}
