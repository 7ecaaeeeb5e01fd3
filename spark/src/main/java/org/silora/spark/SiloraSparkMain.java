package org.silora.spark;

import org.silora.cli.SiloraMain;
import org.silora.cli.TrainDomainCommand;
import org.silora.cli.TrainGeneralCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code java -jar silora-spark.jar train-general|train-domain <the silora options> [--master URL] [--workers N]}, or
 * the same jar under {@code spark-submit}: the single-process training commands, with every step's gradients computed
 * by {@code --workers} Spark tasks ({@link SparkGradientSource}) and everything else (options, checks, files, JSON
 * summary, checkpoints) exactly theirs; the summary adds {@code workers} and {@code master}.
 */
@Command(name = "silora-spark", mixinStandardHelpOptions = true, version = "silora-spark 0.1.0",
        description = "Data-parallel LoRA and SI training on Apache Spark, equal to the single-process silora commands.")
public final class SiloraSparkMain implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line in this JVM and returns its exit code (used by tests). */
    public static int execute(String... args) {
        try (SparkOptions general = new SparkOptions(); SparkOptions domain = new SparkOptions()) {
            CommandLine cl = new CommandLine(new SiloraSparkMain());
            cl.addSubcommand("train-general", new CommandLine(new TrainGeneralCommand()).addMixin("spark", general));
            cl.addSubcommand("train-domain", new CommandLine(new TrainDomainCommand()).addMixin("spark", domain));
            return SiloraMain.execute(cl, args);
        }
    }
}
