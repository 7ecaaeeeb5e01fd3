package org.silora.continual;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.silora.data.MnistDigits;
import org.silora.dl4j.EwcListener;
import org.silora.dl4j.ImportanceListener;
import org.silora.dl4j.SiListener;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Task-incremental split MNIST (tasks {0,1}, {2,3}, …, {8,9}; at test time the prediction is restricted to the task's
 * two classes) with one MLP, trained in sequence by plain fine-tuning, EWC ({@link EwcListener}) and SI
 * ({@link SiListener}) under the same budget, plus joint training on all tasks at once as the reference. EWC's λ and
 * SI's c are chosen on a validation split of each task's digits; the reported accuracies are on held-out test digits.
 *
 * <pre>{@code
 * Setup setup = new Setup(5, 64, 256, 1e-3, 0, List.of(1.0), List.of(1e5), 1e-3, 1);
 * Outcome o = new ContinualMnist(setup).run(MnistDigits.load(), (done, total, what) -> { });
 * double si = o.methods().get("si").testAvg();
 * }</pre>
 */
public final class ContinualMnist {

    /** Told after each trained network. */
    @FunctionalInterface
    public interface Progress {
        /** {@code done} of {@code total} networks trained; {@code what} names the last one. */
        void update(int done, int total, String what);
    }

    private final Setup setup;

    /** An experiment with these settings. */
    public ContinualMnist(Setup setup) {
        this.setup = java.util.Objects.requireNonNull(setup, "setup");
    }

    /** Runs every method (and every strength of the grids) on the digits; tells {@code progress} after each network. */
    public Outcome run(MnistDigits digits, Progress progress) {
        long t0 = System.nanoTime();
        List<Task> tasks = Task.split(digits, setup.seed(), setup.trainPerTask());
        int runs = setup.runs();
        int done = 0;
        Map<String, Run> chosen = new LinkedHashMap<>();
        chosen.put("finetune", sequence(tasks, null));
        progress.update(++done, runs, "finetune");
        double bestC = Double.NaN;
        List<Outcome.Trial> siGrid = new ArrayList<>();
        for (double c : setup.siC()) {
            Run r = sequence(tasks, new Penalty(SiListener.builder().id("continual-mnist-si").xi(setup.xi()).build(), c));
            progress.update(++done, runs, "si c=" + c);
            siGrid.add(new Outcome.Trial(c, r.valAvg()));
            if (!chosen.containsKey("si") || r.valAvg() > chosen.get("si").valAvg()) {
                chosen.put("si", r);
                bestC = c;
            }
        }
        double bestLambda = Double.NaN;
        List<Outcome.Trial> ewcGrid = new ArrayList<>();
        for (double l : setup.ewcLambda()) {
            Run r = sequence(tasks, new Penalty(EwcListener.builder().id("continual-mnist-ewc").build(), l));
            progress.update(++done, runs, "ewc lambda=" + l);
            ewcGrid.add(new Outcome.Trial(l, r.valAvg()));
            if (!chosen.containsKey("ewc") || r.valAvg() > chosen.get("ewc").valAvg()) {
                chosen.put("ewc", r);
                bestLambda = l;
            }
        }
        Run joint = joint(tasks);
        progress.update(++done, runs, "joint");
        return new Outcome(tasks, chosen, joint, bestC, bestLambda, siGrid, ewcGrid, (System.nanoTime() - t0) / 1e9);
    }

    /** An importance listener and the strength of its penalty. */
    private record Penalty(ImportanceListener listener, double strength) {
    }

    /** Trains the tasks in sequence, penalised or (null) plain fine-tuning; evaluates after each task. */
    private Run sequence(List<Task> tasks, Penalty penalty) {
        long t0 = System.nanoTime();
        List<Regularization> reg = penalty == null ? List.of() : List.of(penalty.listener().regularization(penalty.strength()));
        MultiLayerNetwork net = network(reg);
        if (penalty != null) net.addListeners(penalty.listener());
        int n = tasks.size();
        double[][] val = new double[n][n];
        double[][] test = new double[n][n];
        Random order = new Random(setup.seed());
        for (int t = 0; t < n; t++) {
            train(net, tasks.get(t).train(), order);
            if (penalty != null) penalty.listener().endTask(net);
            for (int i = 0; i < n; i++) {
                val[i][t] = accuracy(net, tasks.get(i).val(), tasks.get(i));
                test[i][t] = accuracy(net, tasks.get(i).test(), tasks.get(i));
            }
        }
        return new Run(val, test, (System.nanoTime() - t0) / 1e9);
    }

    /** Joint training on all tasks' training digits at once, the same epochs: the reference; one column. */
    private Run joint(List<Task> tasks) {
        long t0 = System.nanoTime();
        MultiLayerNetwork net = network(List.of());
        List<DataSet> all = new ArrayList<>();
        for (Task t : tasks) all.add(t.train());
        train(net, DataSet.merge(all), new Random(setup.seed()));
        double[][] val = new double[tasks.size()][1];
        double[][] test = new double[tasks.size()][1];
        for (int i = 0; i < tasks.size(); i++) {
            val[i][0] = accuracy(net, tasks.get(i).val(), tasks.get(i));
            test[i][0] = accuracy(net, tasks.get(i).test(), tasks.get(i));
        }
        return new Run(val, test, (System.nanoTime() - t0) / 1e9);
    }

    /** The MLP 784-hidden-hidden-10 (ReLU, softmax, Adam), every layer carrying the penalty. */
    private MultiLayerNetwork network(List<Regularization> reg) {
        int hidden = setup.hidden();
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(setup.seed()).updater(new Adam(setup.lr())).weightInit(WeightInit.RELU)
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

    private void train(MultiLayerNetwork net, DataSet data, Random order) {
        int n = data.numExamples();
        for (int e = 0; e < setup.epochs(); e++) {
            int[] perm = new int[n];
            for (int i = 0; i < n; i++) perm[i] = i;
            for (int i = n - 1; i > 0; i--) {
                int k = order.nextInt(i + 1);
                int tmp = perm[i];
                perm[i] = perm[k];
                perm[k] = tmp;
            }
            for (int s = 0; s < n; s += setup.batch()) {
                int[] rows = Arrays.copyOfRange(perm, s, Math.min(n, s + setup.batch()));
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
            int pred = p.getDouble(i, task.a()) >= p.getDouble(i, task.b()) ? task.a() : task.b();
            if (y.getDouble(i, pred) > 0.5) right++;
        }
        return (double) right / n;
    }
}
