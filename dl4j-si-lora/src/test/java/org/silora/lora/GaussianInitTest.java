package org.silora.lora;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code init_lora_weights = "gaussian"} as peft defines it ({@code LoraLayer.reset_lora_parameters}:
 * {@code nn.init.normal_(lora_A.weight, std=1 / r)}, {@code nn.init.zeros_(lora_B.weight)}): A {@code [r, in]} drawn
 * from a normal distribution of mean 0 and standard deviation 1/r whatever the module's fan-in, B {@code [out, r]} zero.
 * The statistical bounds are four standard errors of each estimate for the pooled sample size n.
 */
class GaussianInitTest {

    private static final String[] ALL_LINEAR = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

    /** A's entries of every module, pooled over {@code seeds}; checks the shapes and B = 0 on the way. */
    private static List<double[]> initialA(ModelConfig cfg, Weights w, LoraConfig.InitLoraWeights init, int r, long... seeds) {
        List<double[]> out = new ArrayList<>();
        for (long seed : seeds) {
            LoraModel model = LoraModel.create(cfg, w, LoraConfig.builder().r(r).loraAlpha(2 * r).targetModules(ALL_LINEAR)
                    .initLoraWeights(init).build(), seed);
            assertEquals(ALL_LINEAR.length * cfg.numLayers(), model.modules().size());
            for (LoraModule m : model.modules().values()) {
                INDArray a = m.a().getArr();
                INDArray b = m.b().getArr();
                assertArrayEquals(new long[]{r, m.base().in()}, a.shape(), m.name() + " lora_A is [r, in]");
                assertArrayEquals(new long[]{m.base().out(), r}, b.shape(), m.name() + " lora_B is [out, r]");
                assertEquals(0.0, b.amaxNumber().doubleValue(), m.name() + ": B starts at zero");
                out.add(a.dup('c').data().asDouble());
            }
            model.lm().close();
        }
        return out;
    }

    /** n, mean, standard deviation, kurtosis (3 for a normal, 1.8 for a uniform), fraction within one deviation. */
    private static double[] moments(List<double[]> parts) {
        double n = 0, sum = 0;
        for (double[] p : parts) for (double v : p) {
            n++;
            sum += v;
        }
        double mean = sum / n;
        double m2 = 0, m4 = 0;
        for (double[] p : parts) for (double v : p) {
            double d = (v - mean) * (v - mean);
            m2 += d;
            m4 += d * d;
        }
        m2 /= n;
        m4 /= n;
        double sd = Math.sqrt(m2);
        double within = 0;
        for (double[] p : parts) for (double v : p) if (Math.abs(v - mean) <= sd) within++;
        return new double[]{n, mean, sd, m4 / (m2 * m2), within / n};
    }

    @Test
    void gaussianInitDrawsAFromNormalWithStdOneOverRankAndZeroB() {
        ModelConfig cfg = TinyModels.llamaGqa();
        Weights w = Weights.of(TinyModels.randomWeights(cfg, 3));
        for (int r : new int[]{2, 16}) {
            List<double[]> parts = initialA(cfg, w, LoraConfig.InitLoraWeights.GAUSSIAN, r, 1, 2, 3);
            double[] s = moments(parts);
            double n = s[0];
            String what = "r = " + r + ", n = " + (long) n + ": mean " + s[1] + ", std " + s[2] + ", kurtosis " + s[3]
                    + ", within 1 std " + s[4];
            System.err.println("gaussian init, " + what);
            double std = 1.0 / r;   // peft: std = 1/r (not 1/√r, and independent of fan-in)
            assertEquals(0.0, s[1], 4 * std / Math.sqrt(n), "mean, " + what);
            assertEquals(1.0, s[2] / std, 4 / Math.sqrt(2 * n), "std·r, " + what);
            assertEquals(3.0, s[3], 4 * Math.sqrt(24 / n), "kurtosis of a normal, " + what);
            assertEquals(0.6827, s[4], 4 * Math.sqrt(0.6827 * 0.3173 / n), "fraction within one std, " + what);
            // fan-in plays no part: modules of different widths have the same spread (each within 5 standard errors)
            for (double[] p : parts) {
                double[] one = moments(List.of(p));
                assertEquals(1.0, one[2] / std, 5 / Math.sqrt(2 * one[0]), "std·r of a module with " + p.length / r + " inputs, r = " + r);
            }
        }
    }

    /** The default stays peft's {@code init_lora_weights=True}: kaiming-uniform A with bound 1/√in, so "gaussian" really switches. */
    @Test
    void defaultInitIsKaimingUniformBoundedByOneOverSqrtFanIn() {
        ModelConfig cfg = TinyModels.llamaGqa();
        Weights w = Weights.of(TinyModels.randomWeights(cfg, 3));
        List<double[]> parts = initialA(cfg, w, LoraConfig.InitLoraWeights.KAIMING, 8, 1, 2, 3);
        assertEquals(LoraConfig.InitLoraWeights.KAIMING, LoraConfig.builder().build().initLoraWeights());
        for (double[] p : parts) {
            double bound = 1 / Math.sqrt(p.length / 8.0);
            for (double v : p) assertTrue(Math.abs(v) <= bound * (1 + 1e-6), v + " beyond the bound " + bound);
        }
        double[] s = moments(parts);
        // a uniform's kurtosis is 1.8 (a normal's 3); with n ≈ 9000 its estimate's standard error is below 0.01
        assertEquals(1.8, s[3], 0.1, "kurtosis of a uniform: " + s[3]);
    }
}
