package org.silora.continual;

import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.data.MnistDigits;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * One task of split MNIST: the digits of classes {@code a} and {@code b}, cut into training, validation and test
 * digits; at test time the prediction is restricted to these two classes.
 *
 * <pre>{@code
 * List<Task> tasks = Task.split(MnistDigits.load(), 1, 0);   // {0,1}, {2,3}, ..., {8,9}
 * }</pre>
 */
public record Task(int a, int b, DataSet train, DataSet val, DataSet test) {

    /** Tasks of split MNIST: classes {0,1}, {2,3}, …, {8,9}. */
    public static final int COUNT = 5;

    /**
     * Per task: the digits of its two classes, shuffled with the seed, 60 % train (at most {@code trainPerTask} when
     * that is positive), 20 % validation, 20 % test.
     */
    public static List<Task> split(MnistDigits d, long seed, int trainPerTask) {
        int[] labels = d.labels();
        List<Task> out = new ArrayList<>();
        for (int t = 0; t < COUNT; t++) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < labels.length; i++) if (labels[i] / 2 == t) idx.add(i);
            Random rnd = new Random(seed * 1000 + t);
            for (int i = idx.size() - 1; i > 0; i--) Collections.swap(idx, i, rnd.nextInt(i + 1));
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
}
