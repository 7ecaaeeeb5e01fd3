package org.silora.control;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The best rank-r approximation of a dense delta (Eckart–Young: the truncated SVD), as LoRA factors with scaling 1:
 * {@code D ≈ B·A} with {@code B = D·V_r}, {@code A = V_rᵀ} (V_r the top-r right singular vectors; the left ones when
 * the matrix is wider than tall). The decomposition runs in double precision; the factors are stored as float.
 *
 * <pre>{@code
 * LowRank.Factors f = LowRank.truncate(delta, 8);
 * System.out.println("relative error " + f.relativeError());
 * }</pre>
 */
public final class LowRank {

    private LowRank() {
    }

    /**
     * @param a             {@code lora_A} {@code [r, in]}
     * @param b             {@code lora_B} {@code [out, r]}
     * @param norm          ‖D‖_F
     * @param residualNorm  ‖D − B·A‖_F, measured (not from the discarded singular values)
     */
    public record Factors(INDArray a, INDArray b, double norm, double residualNorm) {
        public Factors {
            if (a.rank() != 2 || b.rank() != 2 || a.size(0) != b.size(1)) {
                throw new IllegalArgumentException("factors must be [r, in] and [out, r]");
            }
        }

        /** ‖D − B·A‖_F / ‖D‖_F, 0 for a zero delta. */
        public double relativeError() {
            return norm == 0 ? 0 : residualNorm / norm;
        }
    }

    /** The truncated SVD of {@code delta} {@code [out, in]} at {@code rank} (1 ≤ rank ≤ min(out, in)). */
    public static Factors truncate(INDArray delta, int rank) {
        if (delta.rank() != 2) throw new IllegalArgumentException("delta must be a matrix, got rank " + delta.rank());
        long out = delta.size(0);
        long in = delta.size(1);
        if (rank < 1 || rank > Math.min(out, in)) {
            throw new IllegalArgumentException("--rank must be in 1.." + Math.min(out, in) + " for a [" + out + ", " + in + "] delta, got " + rank);
        }
        INDArray d = delta.castTo(DataType.DOUBLE).dup('c');
        // The top-r singular subspace of the smaller side from the Gram matrix (LAPACK dsyev, double): memory
        // min(out, in)², not out² (lm_head's vocabulary side). The factors are D·V_r and V_rᵀ (or U_r and U_rᵀ·D): no
        // division by σ, so at full rank B·A = D·V·Vᵀ = D to rounding even where σ is tiny.
        boolean rightSide = in <= out;
        INDArray gram = rightSide ? d.transpose().mmul(d) : d.mmul(d.transpose());
        INDArray g = gram.dup('f');
        Eigen.symmetricGeneralizedEigenvalues(g, true);                   // g now holds eigenvectors, ascending eigenvalues
        long n = g.size(0);
        INDArray top = g.get(NDArrayIndex.all(), NDArrayIndex.interval(n - rank, n)).dup('c');   // the r largest
        INDArray a;
        INDArray b;
        if (rightSide) {
            a = top.transpose();                                          // V_rᵀ [r, in]
            b = d.mmul(top);                                              // D·V_r [out, r]
        } else {
            b = top;                                                      // U_r [out, r]
            a = top.transpose().mmul(d);                                  // U_rᵀ·D [r, in]
        }
        INDArray af = a.castTo(DataType.FLOAT).dup('c');
        INDArray bf = b.castTo(DataType.FLOAT).dup('c');
        // the error of what is stored: the float factors, multiplied in double
        double residual = d.sub(bf.castTo(DataType.DOUBLE).mmul(af.castTo(DataType.DOUBLE))).norm2Number().doubleValue();
        return new Factors(af, bf, d.norm2Number().doubleValue(), residual);
    }
}
