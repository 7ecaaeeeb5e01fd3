package org.silora.dl4j;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.iter.NdIndexIterator;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.silora.si.LayerWeighting;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The regularization's gradient, its configuration's JSON round trip, and ComputationGraph support. */
class ImportanceRegularizationDl4jTest {

    private static MultiLayerConfiguration mlp(List<Regularization> reg) {
        return new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).seed(7).updater(new Adam(1e-2))
                .list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH)
                        .regularization(reg).regularizationBias(reg).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(4).nOut(2)
                        .activation(Activation.SOFTMAX).regularization(reg).regularizationBias(reg).build())
                .build();
    }

    private static DataSet data(long seed, int n) {
        Random r = new Random(seed);
        double[][] x = new double[n][3];
        double[][] y = new double[n][2];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 3; j++) x[i][j] = r.nextGaussian();
            y[i][(x[i][0] + (seed % 2 == 0 ? x[i][1] : -x[i][2])) > 0 ? 1 : 0] = 1;
        }
        return new DataSet(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
    }

    @Test
    void gradientMatchesFiniteDifferencesOfTheScoreOnEveryParameterView() {
        double strength = 0.7;
        ImportanceState state = new ImportanceState("fd");
        ImportanceRegularization reg = new ImportanceRegularization("fd", strength, state);
        MultiLayerNetwork net = new MultiLayerNetwork(mlp(List.of(reg)));
        net.init();
        long n = net.numParams();
        Random r = new Random(3);
        double[] imp = new double[(int) n];
        double[] anc = new double[(int) n];
        for (int i = 0; i < n; i++) {
            imp[i] = r.nextDouble() * 2;
            anc[i] = r.nextGaussian();
        }
        state.register(net.params(), Nd4j.createFromArray(imp), Nd4j.createFromArray(anc));
        double h = 1e-6;
        int checked = 0;
        for (Layer l : net.getLayers()) {
            for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
                INDArray p = e.getValue();
                INDArray grad = Nd4j.zeros(DataType.DOUBLE, p.shape());
                reg.apply(p, grad, 0.1, 0, 0);
                NdIndexIterator it = new NdIndexIterator(p.shape());
                while (it.hasNext()) {
                    long[] k = it.next();
                    double v = p.getDouble(k);
                    p.putScalar(k, v + h);
                    double up = reg.score(p, 0, 0);
                    p.putScalar(k, v - h);
                    double down = reg.score(p, 0, 0);
                    p.putScalar(k, v);
                    double fd = (up - down) / (2 * h);
                    assertEquals(fd, grad.getDouble(k), 1e-6 * Math.max(1, Math.abs(fd)), l.getIndex() + e.getKey() + java.util.Arrays.toString(k));
                    checked++;
                }
                // and the value against a plain loop over the flat vector: strength·Σ Ω(θ − θ*)²
                long off = p.offset() - net.params().offset();
                double expect = 0;
                for (int k = 0; k < p.length(); k++) {
                    double d = net.params().getDouble(off + k) - anc[(int) (off + k)];
                    expect += imp[(int) (off + k)] * d * d;
                }
                assertEquals(strength * expect, reg.score(p, 0, 0), 1e-9);
            }
        }
        assertEquals(n, checked);
    }

    @Test
    void configurationSurvivesTheJsonRoundTrip() {
        SiListener si = SiListener.builder().build();
        MultiLayerConfiguration conf = mlp(List.of(si.regularization(0.25)));
        String json = conf.toJson();
        assertTrue(json.contains(ImportanceRegularization.class.getName()), json);
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(json);
        assertEquals(conf, back);
        assertEquals(List.of(new ImportanceRegularization("si", 0.25)), back.getConf(1).getLayer().getRegularizationByParam("W"));
        assertEquals(List.of(new ImportanceRegularization("si", 0.25)), back.getConf(0).getLayer().getRegularizationByParam("b"));

        // read back, the regularization is bound to nothing: training refuses to run rather than add nothing
        MultiLayerNetwork alone = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(json));
        alone.init();
        IllegalStateException unbound = assertThrows(IllegalStateException.class, () -> alone.fit(data(1, 16)));
        assertTrue(unbound.getMessage().contains("bind(network)"), unbound.getMessage());
        assertEquals(4, si.bind(alone));   // W and b of both layers
        alone.fit(data(1, 16));

        // a network built from the restored configuration, with the listener attached, is bound on its first gradient
        // and pulled by the listener's importance
        MultiLayerNetwork net = new MultiLayerNetwork(back);
        net.init();
        net.addListeners(si);
        net.fit(data(1, 64));
        si.endTask(net);
        net.fit(data(2, 64));
        Layer out = net.getLayer(1);
        assertTrue(out.conf().getLayer().getRegularizationByParam("W").get(0).score(out.getParam("W"), 0, 0) > 0);
    }

    /** Two networks, two listeners with the same default id, in one JVM: each regularization pulls to its own listener's Ω. */
    @Test
    void twoListenersSideBySideKeepTheirOwnPull() {
        double strength = 0.5;
        SiListener[] si = new SiListener[2];
        MultiLayerNetwork[] net = new MultiLayerNetwork[2];
        for (int k = 0; k < 2; k++) {
            // the second listener is built after the first network's task ended (a process-wide registry keyed by
            // id cleared the first network's entries here, and its pull silently became zero)
            si[k] = SiListener.builder().build();
            net[k] = new MultiLayerNetwork(mlp(List.of(si[k].regularization(strength))));
            net[k].init();
            net[k].addListeners(si[k]);
            net[k].fit(data(1 + k, 64));
            si[k].endTask(net[k]);
            net[k].fit(data(3 + k, 64));   // moves away from the anchor
        }
        for (int k = 0; k < 2; k++) {
            Layer out = net[k].getLayer(1);
            INDArray w = out.getParam("W");
            long off = w.offset() - net[k].params().offset();
            INDArray imp = si[k].importance().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(off, off + w.length()));
            INDArray anc = si[k].anchor().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(off, off + w.length()));
            INDArray d = Nd4j.toFlattened('f', w).reshape(w.length()).sub(anc);   // DL4J's weight views enumerate their buffer in 'f' order
            double expected = strength * d.mul(d).muli(imp).sumNumber().doubleValue();
            double actual = out.conf().getLayer().getRegularizationByParam("W").get(0).score(w, 0, 0);
            assertTrue(expected > 0, "network " + k + ": no pull to test");
            assertEquals(expected, actual, 1e-9 * expected, "network " + k + " is pulled by its own listener's importance");
        }
    }

    @Test
    void globalBuilderRegularizationIsRefusedBecauseDl4jAddsItTwice() {
        SiListener si = SiListener.builder().build();
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .regularization(List.of(si.regularization(1))).list()
                .layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build()).build());
        net.init();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> si.endTask(net));
        assertTrue(e.getMessage().contains("layer builders"), e.getMessage());
    }

    @Test
    void aForeignNetworkIsAClearError() {
        ImportanceRegularization reg = new ImportanceRegularization("si", 1);
        MultiLayerNetwork a = new MultiLayerNetwork(mlp(List.of(reg)));
        a.init();
        SiListener si = SiListener.builder().build();
        a.addListeners(si);
        a.fit(data(1, 16));
        si.endTask(a);
        MultiLayerNetwork b = a.clone();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.fit(data(2, 16)));
        assertTrue(e.getMessage().contains("endTask"), e.getMessage());
    }

    @Test
    void computationGraphRecordsImportanceAndIsHeldNearItsAnchor() {
        double[] drift = new double[2];
        for (int run = 0; run < 2; run++) {
            SiListener si = SiListener.builder().id("cg").layerWeighting(LayerWeighting.UNIFORM).build();
            List<Regularization> reg = List.of(si.regularization(run == 0 ? 0 : 100));
            ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).seed(5)
                    .updater(new Adam(1e-2)).graphBuilder().addInputs("in")
                    .addLayer("hidden", new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH)
                            .regularization(reg).regularizationBias(reg).build(), "in")
                    .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(4).nOut(2)
                            .activation(Activation.SOFTMAX).regularization(reg).regularizationBias(reg).build(), "hidden")
                    .setOutputs("out").build();
            assertEquals(conf, ComputationGraphConfiguration.fromJson(conf.toJson()));
            assertEquals(reg, ((LayerVertex) ComputationGraphConfiguration.fromJson(conf.toJson()).getVertices().get("out"))
                    .getLayerConf().getLayer().getRegularizationByParam("W"));
            ComputationGraph g = new ComputationGraph(conf);
            g.init();
            g.addListeners(si);
            for (int i = 0; i < 20; i++) g.fit(data(1, 64));
            assertEquals(20, si.steps());
            assertTrue(si.omegaSum() > 0, "task A's loss went down, so Σω > 0");
            si.endTask(g);
            assertEquals(Map.of("hidden", 0.5, "out", 0.5), si.layerWeights());
            assertTrue(si.importance().sumNumber().doubleValue() > 0);
            for (int i = 0; i < 20; i++) g.fit(data(2, 64));
            drift[run] = g.params().sub(si.anchor()).norm2Number().doubleValue();
        }
        assertTrue(drift[1] < 0.5 * drift[0], "pulled " + drift[1] + " vs free " + drift[0]);
    }
}
