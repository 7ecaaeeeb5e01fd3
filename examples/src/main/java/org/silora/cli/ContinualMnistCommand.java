package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.silora.console.ProgressBar;
import org.silora.data.MnistDigits;
import org.silora.demo.Plots;
import org.silora.dl4j.EwcListener;
import org.silora.dl4j.ImportanceListener;
import org.silora.dl4j.SiListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * {@code silora continual-mnist}: task-incremental split MNIST on the shipped 10 000 digits (tasks {0,1}, {2,3}, …,
 * {8,9}; at test time the prediction is restricted to the task's two classes) with one MLP, trained in sequence by
 * plain fine-tuning, EWC ({@link EwcListener}) and SI ({@link SiListener}) under the same budget, plus joint training
 * on all tasks at once as the reference. EWC's λ and SI's c are chosen on a validation split of each task's digits;
 * the reported accuracies are on held-out test digits.
 */
@Command(name = "continual-mnist", mixinStandardHelpOptions = true,
        description = "The DL4J path: task-incremental split MNIST (5 tasks, the shipped digits) with fine-tuning, EWC and the SI listener; "
                + "prints the accuracy matrix and average accuracy, writes results.json and accuracy.png into --out.")
final class ContinualMnistCommand implements Callable<Integer> {

    static final int TASKS = 5;

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

    /** One task's digits: train, validation and test. */
    record Task(int a, int b, DataSet train, DataSet val, DataSet test) {
    }

    /** Accuracies of one run: {@code [task][after task]} on validation and test digits. */
    record Run(double[][] val, double[][] test, double seconds) {
        double valAvg() {
            return lastColumnMean(val);
        }

        double testAvg() {
            return lastColumnMean(test);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (epochs < 1 || batch < 1 || hidden < 1 || !(lr > 0)) throw new IllegalArgumentException("--epochs, --batch, --hidden and --lr must be positive");
        if (siC.isEmpty() || ewcLambda.isEmpty()) throw new IllegalArgumentException("--si-c and --ewc-lambda need at least one value");
        for (double v : siC) if (!(v >= 0)) throw new IllegalArgumentException("--si-c values must be >= 0, got " + v);
        for (double v : ewcLambda) if (!(v >= 0)) throw new IllegalArgumentException("--ewc-lambda values must be >= 0, got " + v);
        long t0 = System.nanoTime();
        List<Task> tasks = split(MnistDigits.load());
        int runs = 2 + siC.size() + ewcLambda.size();
        ProgressBar bar = new ProgressBar("continual-mnist", runs);
        int[] done = {0};

        Map<String, Run> chosen = new LinkedHashMap<>();
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        ObjectNode tuning = om.createObjectNode();
        chosen.put("finetune", run(tasks, "finetune", 0));
        bar.update(++done[0], runs, "finetune");
        double bestC = Double.NaN;
        double bestLambda = Double.NaN;
        ArrayNode siGrid = tuning.putArray("si");
        for (double c : siC) {
            Run r = run(tasks, "si", c);
            bar.update(++done[0], runs, "si c=" + c);
            siGrid.addObject().put("c", c).put("val_avg_acc", r.valAvg());
            if (!chosen.containsKey("si") || r.valAvg() > chosen.get("si").valAvg()) {
                chosen.put("si", r);
                bestC = c;
            }
        }
        ArrayNode ewcGrid = tuning.putArray("ewc");
        for (double l : ewcLambda) {
            Run r = run(tasks, "ewc", l);
            bar.update(++done[0], runs, "ewc lambda=" + l);
            ewcGrid.addObject().put("lambda", l).put("val_avg_acc", r.valAvg());
            if (!chosen.containsKey("ewc") || r.valAvg() > chosen.get("ewc").valAvg()) {
                chosen.put("ewc", r);
                bestLambda = l;
            }
        }
        Run joint = joint(tasks);
        bar.update(++done[0], runs, "joint");
        bar.close();
        double seconds = (System.nanoTime() - t0) / 1e9;

        ArrayNode taskArr = root.putArray("tasks");
        for (Task t : tasks) taskArr.addArray().add(t.a).add(t.b);
        ObjectNode split = root.putObject("split");
        split.put("train", tasks.stream().mapToLong(t -> t.train.numExamples()).sum());
        split.put("val", tasks.stream().mapToLong(t -> t.val.numExamples()).sum());
        split.put("test", tasks.stream().mapToLong(t -> t.test.numExamples()).sum());
        ObjectNode setup = root.putObject("setup");
        setup.put("model", "MLP 784-" + hidden + "-" + hidden + "-10, ReLU, softmax, Adam");
        setup.put("epochs_per_task", epochs).put("batch", batch).put("lr", lr).put("xi", xi).put("seed", seed);
        setup.put("scenario", "task-incremental: prediction restricted to the task's two classes");
        ObjectNode methods = root.putObject("methods");
        for (Map.Entry<String, Run> e : chosen.entrySet()) {
            ObjectNode m = methods.putObject(e.getKey());
            m.put("avg_acc", e.getValue().testAvg());
            if (e.getKey().equals("si")) m.put("c", bestC);
            if (e.getKey().equals("ewc")) m.put("lambda", bestLambda);
            m.put("val_avg_acc", e.getValue().valAvg());
            matrix(m.putArray("acc"), e.getValue().test);
            m.put("seconds", e.getValue().seconds);
        }
        ObjectNode j = methods.putObject("joint");
        j.put("avg_acc", joint.testAvg());
        j.put("val_avg_acc", joint.valAvg());
        ArrayNode ja = j.putArray("acc");
        for (double[] row : joint.test) ja.add(row[0]);
        j.put("seconds", joint.seconds);
        root.set("tuning", tuning);
        root.put("seconds", seconds);

        Files.createDirectories(out);
        Path png = out.resolve("accuracy.png");
        plot(png, chosen, joint.testAvg());
        root.put("png", png.toString());
        Files.writeString(out.resolve("results.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        if (json) {
            SiloraMain.json().println(om.writeValueAsString(root));
        } else {
            printTable(SiloraMain.json(), chosen, joint, bestC, bestLambda, seconds, png);
        }
        return 0;
    }

    /** Per task: the digits of its two classes, shuffled with the seed, 60 % train, 20 % validation, 20 % test. */
    List<Task> split(MnistDigits d) {
        int[] labels = d.labels();
        List<Task> out = new ArrayList<>();
        for (int t = 0; t < TASKS; t++) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < labels.length; i++) if (labels[i] / 2 == t) idx.add(i);
            Random rnd = new Random(seed * 1000 + t);
            for (int i = idx.size() - 1; i > 0; i--) java.util.Collections.swap(idx, i, rnd.nextInt(i + 1));
            int nVal = idx.size() / 5;
            int nTest = idx.size() / 5;
            List<Integer> train = idx.subList(nVal + nTest, idx.size());
            if (trainPerTask > 0 && train.size() > trainPerTask) train = train.subList(0, trainPerTask);
            out.add(new Task(2 * t, 2 * t + 1, dataSet(d, train), dataSet(d, idx.subList(0, nVal)),
                    dataSet(d, idx.subList(nVal, nVal + nTest))));
        }
        return out;
    }

    private static DataSet dataSet(MnistDigits d, List<Integer> idx) {
        float[][] x = new float[idx.size()][];
        float[][] y = new float[idx.size()][10];
        int[] labels = d.labels();
        for (int i = 0; i < idx.size(); i++) {
            x[i] = d.image(idx.get(i));
            y[i][labels[idx.get(i)]] = 1;
        }
        return new DataSet(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
    }

    private MultiLayerNetwork network(List<Regularization> reg) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(seed).updater(new Adam(lr)).weightInit(WeightInit.RELU)
                .list()
                .layer(new DenseLayer.Builder().nIn(MnistDigits.PIXELS).nOut(hidden).activation(Activation.RELU)
                        .regularization(reg).regularizationBias(reg).build())
                .layer(new DenseLayer.Builder().nIn(hidden).nOut(hidden).activation(Activation.RELU)
                        .regularization(reg).regularizationBias(reg).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(hidden).nOut(10)
                        .activation(Activation.SOFTMAX).regularization(reg).regularizationBias(reg).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** Trains the tasks in sequence with fine-tuning, SI (strength c) or EWC (λ); evaluates after each task. */
    Run run(List<Task> tasks, String method, double strength) {
        long t0 = System.nanoTime();
        ImportanceListener listener = switch (method) {
            case "si" -> SiListener.builder().id("continual-mnist-si").xi(xi).build();
            case "ewc" -> EwcListener.builder().id("continual-mnist-ewc").build();
            default -> null;
        };
        List<Regularization> reg = listener == null ? List.of() : List.of(listener.regularization(strength));
        MultiLayerNetwork net = network(reg);
        if (listener != null) net.addListeners(listener);
        double[][] val = new double[TASKS][TASKS];
        double[][] test = new double[TASKS][TASKS];
        Random order = new Random(seed);
        for (int t = 0; t < tasks.size(); t++) {
            train(net, tasks.get(t).train, order);
            if (listener != null) listener.endTask(net);
            for (int i = 0; i < tasks.size(); i++) {
                val[i][t] = accuracy(net, tasks.get(i).val, tasks.get(i));
                test[i][t] = accuracy(net, tasks.get(i).test, tasks.get(i));
            }
        }
        return new Run(val, test, (System.nanoTime() - t0) / 1e9);
    }

    /** Joint training on all tasks' training digits at once, the same epochs: the reference; one column. */
    Run joint(List<Task> tasks) {
        long t0 = System.nanoTime();
        MultiLayerNetwork net = network(List.of());
        List<DataSet> all = new ArrayList<>();
        for (Task t : tasks) all.add(t.train);
        train(net, DataSet.merge(all), new Random(seed));
        double[][] val = new double[TASKS][1];
        double[][] test = new double[TASKS][1];
        for (int i = 0; i < tasks.size(); i++) {
            val[i][0] = accuracy(net, tasks.get(i).val, tasks.get(i));
            test[i][0] = accuracy(net, tasks.get(i).test, tasks.get(i));
        }
        return new Run(val, test, (System.nanoTime() - t0) / 1e9);
    }

    private void train(MultiLayerNetwork net, DataSet data, Random order) {
        int n = data.numExamples();
        for (int e = 0; e < epochs; e++) {
            int[] perm = new int[n];
            for (int i = 0; i < n; i++) perm[i] = i;
            for (int i = n - 1; i > 0; i--) {
                int k = order.nextInt(i + 1);
                int tmp = perm[i];
                perm[i] = perm[k];
                perm[k] = tmp;
            }
            for (int s = 0; s < n; s += batch) {
                int[] rows = java.util.Arrays.copyOfRange(perm, s, Math.min(n, s + batch));
                net.fit(new DataSet(data.getFeatures().getRows(rows), data.getLabels().getRows(rows)));
            }
        }
    }

    /** Accuracy with the prediction restricted to the task's two classes. */
    static double accuracy(MultiLayerNetwork net, DataSet data, Task task) {
        INDArray p = net.output(data.getFeatures());
        INDArray y = data.getLabels();
        int n = (int) p.size(0);
        int right = 0;
        for (int i = 0; i < n; i++) {
            int pred = p.getDouble(i, task.a) >= p.getDouble(i, task.b) ? task.a : task.b;
            if (y.getDouble(i, pred) > 0.5) right++;
        }
        return (double) right / n;
    }

    static double lastColumnMean(double[][] acc) {
        double s = 0;
        for (double[] row : acc) s += row[row.length - 1];
        return s / acc.length;
    }

    private static void matrix(ArrayNode arr, double[][] m) {
        for (double[] row : m) {
            ArrayNode r = arr.addArray();
            for (double v : row) r.add(v);
        }
    }

    private void printTable(PrintStream o, Map<String, Run> runs, Run joint, double c, double lambda, double seconds, Path png) {
        o.printf(Locale.ROOT, "Task-incremental split MNIST, %d epochs per task, test accuracy [task x after task]%n", epochs);
        for (Map.Entry<String, Run> e : runs.entrySet()) {
            String name = e.getKey() + (e.getKey().equals("si") ? " (c=" + c + ")" : e.getKey().equals("ewc") ? " (lambda=" + lambda + ")" : "");
            o.println();
            o.println(name);
            o.print("task    ");
            for (int t = 0; t < TASKS; t++) o.printf(Locale.ROOT, "  after%d", t + 1);
            o.println();
            double[][] m = e.getValue().test;
            for (int i = 0; i < TASKS; i++) {
                o.printf(Locale.ROOT, "{%d,%d}   ", 2 * i, 2 * i + 1);
                for (int t = 0; t < TASKS; t++) o.print(t < i ? "       -" : String.format(Locale.ROOT, "  %6.4f", m[i][t]));
                o.println();
            }
        }
        o.println();
        o.println("| method | average accuracy after the last task |");
        o.println("|---|---|");
        for (Map.Entry<String, Run> e : runs.entrySet()) o.printf(Locale.ROOT, "| %s | %.4f |%n", e.getKey(), e.getValue().testAvg());
        o.printf(Locale.ROOT, "| joint (reference) | %.4f |%n", joint.testAvg());
        o.printf(Locale.ROOT, "%n%.1f s; plot %s%n", seconds, png);
    }

    /**
     * Mean accuracy over the tasks seen so far, after each task, one line per method; joint as a dashed reference line;
     * the legend carries the average accuracy after the last task.
     */
    private static void plot(Path file, Map<String, Run> runs, double joint) throws IOException {
        double[] tasks = new double[TASKS];
        for (int t = 0; t < TASKS; t++) tasks[t] = t + 1;
        List<Plots.Series> lines = new ArrayList<>();
        for (Map.Entry<String, Run> e : runs.entrySet()) {
            double[] y = new double[TASKS];
            for (int t = 0; t < TASKS; t++) y[t] = seen(e.getValue().test, t);
            lines.add(new Plots.Series(String.format(Locale.ROOT, "%s %.3f", e.getKey(), e.getValue().testAvg()), tasks, y).withMarkers());
        }
        lines.add(Plots.Series.reference(String.format(Locale.ROOT, "joint %.3f", joint), 1, TASKS, joint));
        Plots.lines(file, "split MNIST (task-incremental): mean test accuracy over the tasks seen so far", "after task",
                "mean test accuracy", lines, false, Plots.Limits.UNIT);
    }

    private static double seen(double[][] acc, int after) {
        double s = 0;
        for (int i = 0; i <= after; i++) s += acc[i][after];
        return s / (after + 1);
    }
}
