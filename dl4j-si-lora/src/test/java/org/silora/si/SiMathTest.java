package org.silora.si;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The SI formulas on numbers small enough to work out by hand. */
class SiMathTest {

    @Test
    void omegaAndOmegaBigOnAHandComputedTwoStepExample() {
        // two parameters, two steps
        // step 1: g = ( 2, -1), Δθ = (-0.5,  0.25) -> ω = (1.0, 0.25)
        // step 2: g = ( 1,  4), Δθ = (-0.25, 0.5 ) -> ω = (1.25, -1.75)
        INDArray omega = Nd4j.zeros(1, 2);
        SiMath.accumulate(omega, Nd4j.createFromArray(new float[][]{{2, -1}}), Nd4j.createFromArray(new float[][]{{-0.5f, 0.25f}}));
        assertArrayEquals(new float[]{1.0f, 0.25f}, omega.data().asFloat(), 0f);
        SiMath.accumulate(omega, Nd4j.createFromArray(new float[][]{{1, 4}}), Nd4j.createFromArray(new float[][]{{-0.25f, 0.5f}}));
        assertArrayEquals(new float[]{1.25f, -1.75f}, omega.data().asFloat(), 0f);
        // Δν = (-0.75, 0.75); Ω = max(0, ω) / (Δν² + ξ) = (1.25 / 0.5625 + ξ, 0)
        INDArray big = SiMath.consolidate(omega, Nd4j.createFromArray(new float[][]{{-0.75f, 0.75f}}), 1e-7);
        assertEquals(1.25 / (0.5625 + 1e-7), big.getDouble(0, 0), 1e-5);
        assertEquals(0.0, big.getDouble(0, 1), 0.0);
    }

    @Test
    void paperGradientIsEquation13() {
        // A [1,2] = (1, 2), B [2,1] = (3, 4)ᵀ, g_A = (0.5, -1), g_B = (2, -2)ᵀ, η = 0.1
        INDArray a = Nd4j.createFromArray(new float[][]{{1, 2}});
        INDArray b = Nd4j.createFromArray(new float[][]{{3}, {4}});
        INDArray gA = Nd4j.createFromArray(new float[][]{{0.5f, -1}});
        INDArray gB = Nd4j.createFromArray(new float[][]{{2}, {-2}});
        INDArray out = Nd4j.zeros(2, 2);
        SiMath.paperGradient(a, b, gA, gB, 0.1, out);
        // g_B·A = [[2, 4], [-2, -4]]; B·g_A = [[1.5, -3], [2, -4]]; η·g_B·g_A = 0.1·[[1, -2], [-1, 2]]
        float[][] expected = {{2 + 1.5f - 0.1f, 4 - 3 + 0.2f}, {-2 + 2 + 0.1f, -4 - 4 - 0.2f}};
        for (int i = 0; i < 2; i++) assertArrayEquals(expected[i], out.getRow(i).toFloatVector(), 1e-6f);
    }

    @Test
    void layerWeightsSoftmaxUniformAndAuto() {
        double[] norms = {1, 2, 3};
        double[] p = SiMath.layerWeights(norms, LayerWeighting.PAPER);
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertArrayEquals(new double[]{Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z}, p, 1e-12);
        assertArrayEquals(new double[]{1 / 3.0, 1 / 3.0, 1 / 3.0}, SiMath.layerWeights(norms, LayerWeighting.UNIFORM), 1e-12);
        // auto: τ = population standard deviation of (1,2,3) = sqrt(2/3)
        double tau = Math.sqrt(2.0 / 3.0);
        assertEquals(tau, SiMath.effectiveTau(norms, LayerWeighting.AUTO), 1e-12);
        double[] a = SiMath.layerWeights(norms, LayerWeighting.AUTO);
        double za = Math.exp(1 / tau) + Math.exp(2 / tau) + Math.exp(3 / tau);
        assertEquals(Math.exp(3 / tau) / za, a[2], 1e-12);
        // huge norms with τ = 1 collapse onto one module (the SPEC's warning); the softmax stays finite
        double[] collapsed = SiMath.layerWeights(new double[]{1e4, 2e4}, LayerWeighting.PAPER);
        assertArrayEquals(new double[]{0, 1}, collapsed, 1e-12);
        assertEquals(0.0, SiMath.entropy(collapsed), 1e-12);
        assertEquals(Math.log(3), SiMath.entropy(SiMath.layerWeights(norms, LayerWeighting.UNIFORM)), 1e-12);
    }
}
