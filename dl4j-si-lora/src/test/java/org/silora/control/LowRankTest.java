package org.silora.control;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LowRankTest {

    /** Orthonormal columns by Gram–Schmidt in plain Java (independent of ND4J's SVD). */
    private static double[][] orthonormalColumns(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        double[][] q = new double[cols][rows];
        for (int c = 0; c < cols; c++) {
            for (int i = 0; i < rows; i++) q[c][i] = rnd.nextGaussian();
            for (int p = 0; p < c; p++) {
                double dot = 0;
                for (int i = 0; i < rows; i++) dot += q[c][i] * q[p][i];
                for (int i = 0; i < rows; i++) q[c][i] -= dot * q[p][i];
            }
            double n = 0;
            for (int i = 0; i < rows; i++) n += q[c][i] * q[c][i];
            n = Math.sqrt(n);
            for (int i = 0; i < rows; i++) q[c][i] /= n;
        }
        return q;
    }

    @Test
    void truncationErrorIsTheDiscardedSingularValues() {
        int out = 12;
        int in = 9;
        double[] sigma = {9, 7, 5, 3, 2, 1, 0.5, 0.25, 0.125};
        double[][] u = orthonormalColumns(out, in, 1);
        double[][] v = orthonormalColumns(in, in, 2);
        INDArray d = Nd4j.create(DataType.FLOAT, out, in);
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double x = 0;
                for (int k = 0; k < in; k++) x += u[k][i] * sigma[k] * v[k][j];
                d.putScalar(i, j, x);
            }
        }
        for (int rank : new int[]{1, 3, 6}) {
            LowRank.Factors f = LowRank.truncate(d, rank);
            double discarded = 0;
            double all = 0;
            for (int k = 0; k < sigma.length; k++) {
                all += sigma[k] * sigma[k];
                if (k >= rank) discarded += sigma[k] * sigma[k];
            }
            assertEquals(Math.sqrt(discarded / all), f.relativeError(), 1e-5, "Eckart-Young error at rank " + rank);
            assertEquals(rank, f.a().size(0));
            assertEquals(in, f.a().size(1));
            assertEquals(out, f.b().size(0));
        }
    }

    @Test
    void fullRankReproducesTheMatrixWithinFloatRounding() {
        Random rnd = new Random(3);
        INDArray d = Nd4j.create(DataType.FLOAT, 7, 11);
        for (long i = 0; i < d.length(); i++) d.putScalar(i, rnd.nextGaussian());
        LowRank.Factors f = LowRank.truncate(d, 7);
        INDArray back = f.b().castTo(DataType.DOUBLE).mmul(f.a().castTo(DataType.DOUBLE));
        double maxErr = 0;
        for (int i = 0; i < 7; i++) for (int j = 0; j < 11; j++) maxErr = Math.max(maxErr, Math.abs(back.getDouble(i, j) - d.getDouble(i, j)));
        assertTrue(maxErr < 1e-5, "max |B·A − D| = " + maxErr);
        assertTrue(f.relativeError() < 1e-6, "relative error " + f.relativeError());
    }

    @Test
    void rankOutsideTheMatrixIsRefused() {
        INDArray d = Nd4j.rand(DataType.FLOAT, 4, 6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LowRank.truncate(d, 5));
        assertTrue(e.getMessage().contains("1..4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LowRank.truncate(d, 0));
    }
}
