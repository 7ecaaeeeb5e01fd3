package org.silora.ewc;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The running-mean Fisher of the DL4J path against the plain mean of squares, computed in double. */
class FisherMathTest {

    @Test
    void runningMeanEqualsMeanOfSquaredGradients() {
        Random rnd = new Random(11);
        int n = 7, len = 5;
        double[][] grads = new double[n][len];
        INDArray mean = Nd4j.zeros(DataType.DOUBLE, len);
        for (int k = 0; k < n; k++) {
            for (int i = 0; i < len; i++) grads[k][i] = rnd.nextGaussian() * (i + 1);
            FisherMath.accumulate(mean, Nd4j.createFromArray(grads[k].clone()), k + 1);
        }
        for (int i = 0; i < len; i++) {
            double ref = 0;
            for (double[] g : grads) ref += g[i] * g[i];
            ref /= n;
            assertEquals(ref, mean.getDouble(i), 1e-12 * Math.max(1, ref), "element " + i);
        }
    }

    @Test
    void refusesACountBelowOne() {
        INDArray mean = Nd4j.zeros(3);
        assertThrows(IllegalArgumentException.class, () -> FisherMath.accumulate(mean, Nd4j.ones(3), 0));
    }
}
