package org.silora.dl4j;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The listeners' ω, Ω, Fisher and online consolidation on the two-parameter model of {@link Dl4jNets#linear}. */
class SiListenerDl4jTest {


    @Test
    void omegaMatchesHandComputedPathIntegralOnTwoParameters() {
        SiListener si = SiListener.builder().xi(1e-3).build();
        MultiLayerNetwork net = Dl4jNets.linear(List.of());
        net.addListeners(si);
        net.fit(Dl4jNets.taskA());
        net.fit(Dl4jNets.taskA());
        // step 1 at (w, b) = (0.5, 0): ŷ = (0.5, 1), ŷ − y = (−2.5, −4); g = (−2.5 − 8, −6.5) = (−10.5, −6.5)
        //   SGD Δθ = −0.01·g = (0.105, 0.065); ω = −g·Δθ = 0.01·g² = (1.1025, 0.4225); θ = (0.605, 0.065)
        // step 2: ŷ = (0.67, 1.275), ŷ − y = (−2.33, −3.725); g = (−2.33 − 7.45, −6.055) = (−9.78, −6.055)
        //   ω += 0.01·g² = (0.956484, 0.36663025); θ = (0.7028, 0.12555)
        double[] omega = {1.1025 + 0.956484, 0.4225 + 0.36663025};
        assertArrayEquals(omega, si.omega().toDoubleVector(), 1e-12);
        assertEquals(omega[0] + omega[1], si.omegaSum(), 1e-12);
        assertEquals(2, si.steps());
        assertArrayEquals(new double[]{0.7028, 0.12555}, net.params().toDoubleVector(), 1e-12);

        si.endTask(net);
        // Ω = max(0, ω) / (Δ² + ξ), Δ = θ_end − θ_start = (0.2028, 0.12555), ξ = 1e-3
        double[] expected = {omega[0] / (0.2028 * 0.2028 + 1e-3), omega[1] / (0.12555 * 0.12555 + 1e-3)};
        assertArrayEquals(expected, si.importance().toDoubleVector(), 1e-9);
        assertArrayEquals(new double[]{0.7028, 0.12555}, si.anchor().toDoubleVector(), 1e-12);
        assertNull(si.omega(), "ω is reset at the task boundary");
        assertEquals(1, si.tasks());
    }

    @Test
    void onlineSiSumsOmegaAndMovesTheAnchor() {
        SiListener si = SiListener.builder().xi(1e-3).build();
        MultiLayerNetwork net = Dl4jNets.linear(List.of());   // no pull: task B's steps stay plain SGD
        net.addListeners(si);
        net.fit(Dl4jNets.taskA());
        si.endTask(net);
        double[] afterA = si.importance().toDoubleVector();
        // task A, one step: ω = 0.01·g² = (1.1025, 0.4225), Δ = (0.105, 0.065)
        assertArrayEquals(new double[]{1.1025 / (0.105 * 0.105 + 1e-3), 0.4225 / (0.065 * 0.065 + 1e-3)}, afterA, 1e-9);

        net.fit(Dl4jNets.taskB());
        // task B at (0.605, 0.065), x = (1, −1), y = (−1, 0): ŷ = (0.67, −0.54), ŷ − y = (1.67, −0.54)
        //   g = (1.67 + 0.54, 1.67 − 0.54) = (2.21, 1.13); Δθ = −0.01·g; ω = 0.01·g² = (0.048841, 0.012769)
        si.endTask(net);
        double[] omegaB = {0.048841 / (0.0221 * 0.0221 + 1e-3), 0.012769 / (0.0113 * 0.0113 + 1e-3)};
        double[] total = si.importance().toDoubleVector();
        assertArrayEquals(new double[]{afterA[0] + omegaB[0], afterA[1] + omegaB[1]}, total, 1e-9);
        assertArrayEquals(new double[]{0.605 - 0.0221, 0.065 - 0.0113}, si.anchor().toDoubleVector(), 1e-12);
        assertEquals(2, si.tasks());
    }

    @Test
    void ewcFisherIsTheMeanSquaredGradientSummedOverTasks() {
        EwcListener ewc = EwcListener.builder().build();
        MultiLayerNetwork net = Dl4jNets.linear(List.of());
        net.addListeners(ewc);
        net.fit(Dl4jNets.taskA());
        net.fit(Dl4jNets.taskA());
        assertEquals(2, ewc.count());
        // the two gradients of the ω test: (−10.5, −6.5) and (−9.78, −6.055)
        double[] fa = {(10.5 * 10.5 + 9.78 * 9.78) / 2, (6.5 * 6.5 + 6.055 * 6.055) / 2};
        assertArrayEquals(fa, ewc.fisher().toDoubleVector(), 1e-9);
        ewc.endTask(net);
        net.fit(Dl4jNets.taskB());
        // at (0.7028, 0.12555): ŷ = (0.82835, −0.57725), ŷ − y = (1.82835, −0.57725); g = (2.4056, 1.2511)
        ewc.endTask(net);
        assertArrayEquals(new double[]{fa[0] + 2.4056 * 2.4056, fa[1] + 1.2511 * 1.2511}, ewc.importance().toDoubleVector(), 1e-9);
        assertEquals(0.7028 - 0.024056, ewc.anchor().getDouble(0), 1e-12);
        // EWC's λ/2 convention
        assertEquals(5.0, ewc.regularization(10).strength(), 0);
    }

    @Test
    void theRegularizationEntersTheSgdStepWithGradientTwoCOmegaTimesDistance() {
        SiListener si = SiListener.builder().xi(1e-3).build();
        double c = 0.1;
        MultiLayerNetwork net = Dl4jNets.linear(List.of(si.regularization(c)));
        net.addListeners(si);
        net.fit(Dl4jNets.taskA());          // nothing registered yet: plain SGD
        assertArrayEquals(new double[]{0.605, 0.065}, net.params().toDoubleVector(), 1e-12);
        si.endTask(net);
        double[] big = si.importance().toDoubleVector();
        net.fit(Dl4jNets.taskB());          // at the anchor: the pull is zero on the first step
        assertArrayEquals(new double[]{0.605 - 0.0221, 0.065 - 0.0113}, net.params().toDoubleVector(), 1e-12);
        // second step on B at θ = (0.5829, 0.0537): ŷ = (0.6366, −0.5292), ŷ − y = (1.6366, −0.5292)
        //   g = (2.1658, 1.1074), pull = 2c·Ω·(θ − θ*) = 2c·Ω·(−0.0221, −0.0113)
        net.fit(Dl4jNets.taskB());
        double[] expected = {
                0.5829 - 0.01 * (2.1658 + 2 * c * big[0] * -0.0221),
                0.0537 - 0.01 * (1.1074 + 2 * c * big[1] * -0.0113)};
        assertArrayEquals(expected, net.params().toDoubleVector(), 1e-9);
        // the score counts c·Σ Ω(θ − θ*)² on top of the MSE
        net.setInput(Dl4jNets.taskB().getFeatures());
        double mse = net.score(Dl4jNets.taskB()) ;
        double[] th = net.params().toDoubleVector();
        double penalty = c * (big[0] * Math.pow(th[0] - 0.605, 2) + big[1] * Math.pow(th[1] - 0.065, 2));
        double y0 = th[0] + th[1] + 1, y1 = -th[0] + th[1];
        assertEquals((y0 * y0 + y1 * y1) / 2 + penalty, mse, 1e-9);
    }
}
