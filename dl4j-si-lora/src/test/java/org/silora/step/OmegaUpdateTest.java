package org.silora.step;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fused ω update equals the same update formed whole with ND4J: ω − g ⊙ (s·B'A' − s·BA), clamped or not. */
class OmegaUpdateTest {

    private static INDArray rand(long... shape) {
        return Nd4j.rand(DataType.FLOAT, shape).subi(0.5);
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double rel = expected.sub(actual).norm2Number().doubleValue() / expected.norm2Number().doubleValue();
        assertTrue(rel < 1e-5, what + ": relative difference " + rel);
    }

    @Test
    void fusedUpdatesEqualTheWholeMatrixFormulas() {
        Nd4j.getRandom().setSeed(3);
        int out = 70;   // not a multiple of the row block
        int in = 45;
        int r = 3;
        int n = 11;
        double s = 2.5;
        double eta = 0.01;
        INDArray a0 = rand(r, in);
        INDArray b0 = rand(out, r);
        INDArray a1 = rand(r, in);
        INDArray b1 = rand(out, r);
        INDArray gA = rand(r, in);
        INDArray gB = rand(out, r);
        INDArray delta = rand(n, out);
        INDArray x = rand(n, in);
        INDArray omega0 = rand(out, in).muli(0.1);
        INDArray dD = b1.mmul(a1).muli(s).subi(b0.mmul(a0).muli(s));
        INDArray gPaper = gB.mmul(a0).addi(b0.mmul(gA)).subi(gB.mmul(gA).muli(eta));
        INDArray gExact = delta.transpose().mmul(x);
        try (OmegaUpdate u = new OmegaUpdate(2)) {
            for (boolean clamp : new boolean[]{false, true}) {
                INDArray expectPaper = omega0.sub(gPaper.mul(dD));
                INDArray expectExact = omega0.sub(gExact.mul(dD));
                if (clamp) {
                    expectPaper = Transforms.relu(expectPaper, true);
                    expectExact = Transforms.relu(expectExact, true);
                }
                INDArray w = omega0.dup();
                u.paper(w, a0, b0, a1, b1, gA, gB, eta, s, clamp);
                assertClose(expectPaper, w, "paper, clamp " + clamp);
                w = omega0.dup();
                u.exact(w, delta, x, a0, b0, a1, b1, s, clamp);
                assertClose(expectExact, w, "exact, clamp " + clamp);
                w = omega0.dup();
                u.withGradient(w, gExact, a0, b0, a1, b1, s, clamp);
                assertClose(expectExact, w, "summed gradient, clamp " + clamp);
                w = omega0.dup();
                u.exact(w, delta.transpose().dup('f').transpose(), x, a0, b0, a1, b1, s, clamp);   // another layout: copied first
                assertClose(expectExact, w, "exact from an f-order view, clamp " + clamp);
            }
        }
    }
}
