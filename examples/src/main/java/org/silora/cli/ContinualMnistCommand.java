package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.console.ProgressBar;
import org.silora.continual.AccuracyChart;
import org.silora.continual.ContinualMnist;
import org.silora.continual.Outcome;
import org.silora.continual.ResultsJson;
import org.silora.continual.ResultsTable;
import org.silora.continual.Setup;
import org.silora.data.MnistDigits;
import org.silora.hf.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code silora continual-mnist}: parses the options, runs {@link ContinualMnist} and writes its results: JSON on
 * stdout (or the table), {@code results.json} and {@code accuracy.png} in {@code --out}, each written to a temporary
 * file and renamed.
 */
@Command(name = "continual-mnist", mixinStandardHelpOptions = true,
        description = "The DL4J path: task-incremental split MNIST (5 tasks, the shipped digits) with fine-tuning, EWC and the SI listener; "
                + "prints the accuracy matrix and average accuracy, writes results.json and accuracy.png into --out.")
final class ContinualMnistCommand implements Callable<Integer> {

    @Option(names = "--json", description = "print only the JSON")
    boolean json;

    @Option(names = "--out", defaultValue = "silora-out/continual-mnist", paramLabel = "DIR", description = "output folder (default ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--epochs", defaultValue = "5", description = "epochs per task (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--batch", defaultValue = "64", description = "minibatch size (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--hidden", defaultValue = "256", description = "units in each of the two hidden layers (default ${DEFAULT-VALUE})")
    int hidden;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Adam learning rate (default ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--train-per-task", defaultValue = "0", description = "cap on training digits per task, 0 = all of the split (default ${DEFAULT-VALUE})")
    int trainPerTask;

    @Option(names = "--si-c", split = ",", defaultValue = "0.01,0.1,1,10,100",
            description = "SI strength c, or a comma-separated grid tuned on the validation split (default ${DEFAULT-VALUE})")
    List<Double> siC;

    @Option(names = "--ewc-lambda", split = ",", defaultValue = "10,100,1000,10000,100000,1000000",
            description = "EWC lambda, or a grid tuned on the validation split (default ${DEFAULT-VALUE})")
    List<Double> ewcLambda;

    @Option(names = "--xi", defaultValue = "1e-3", description = "SI damping xi (default ${DEFAULT-VALUE})")
    double xi;

    @Option(names = "--seed", defaultValue = "1", description = "seed of the splits, initialisation and batch order (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() throws Exception {
        Setup setup = new Setup(epochs, batch, hidden, lr, trainPerTask, siC, ewcLambda, xi, seed);
        OutFolder.check(out);
        Outcome outcome;
        try (ProgressBar bar = new ProgressBar("continual-mnist", setup.runs())) {
            outcome = new ContinualMnist(setup).run(MnistDigits.load(), bar::update);
        }
        Path png = out.resolve("accuracy.png");
        AccuracyChart.write(png, outcome);
        ObjectNode results = ResultsJson.of(outcome, setup, png);
        ObjectMapper om = new ObjectMapper();
        AtomicFiles.writeString(out.resolve("results.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(results));
        if (json) {
            SiloraMain.json().println(om.writeValueAsString(results));
        } else {
            ResultsTable.print(SiloraMain.json(), outcome, epochs, png);
        }
        return 0;
    }
}
