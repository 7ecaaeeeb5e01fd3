package org.silora.dl4j;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.silora.hf.ModelFormatException;
import org.silora.si.LayerWeighting;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Crash-safe DL4J training with SI/EWC: a run checkpointed mid-task (network with updater by {@code ModelSerializer},
 * listener by {@code saveState}) and resumed in a fresh network and listener ends exactly where the uninterrupted run
 * ends: same parameters, same ω (or Fisher), same importance after the task.
 */
class ListenerStateTest {

    @TempDir
    Path tmp;


    private static MultiLayerConfiguration mlp(List<Regularization> reg) {
        return new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).seed(11).updater(new Adam(1e-2))
                .list()
                .layer(new DenseLayer.Builder().name("hidden").nIn(4).nOut(8).activation(Activation.TANH)
                        .regularization(reg).regularizationBias(reg).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nIn(8).nOut(2)
                        .activation(Activation.SOFTMAX).regularization(reg).regularizationBias(reg).build())
                .build();
    }

    private static DataSet batch(long seed) {
        Random r = new Random(seed);
        float[][] x = new float[16][4];
        float[][] y = new float[16][2];
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < 4; j++) x[i][j] = (float) r.nextGaussian();
            y[i][(x[i][0] + (seed < 100 ? x[i][1] : -x[i][3])) > 0 ? 1 : 0] = 1;
        }
        return new DataSet(Nd4j.createFromArray(x), Nd4j.createFromArray(y));
    }

    private static void fit(MultiLayerNetwork net, long from, long to) {
        for (long s = from; s < to; s++) net.fit(batch(s));
    }

    private void resumesExactly(Supplier<ImportanceListener> make, double strength) throws Exception {
        // uninterrupted: task A (batches 0..9), endTask, task B (batches 100..119), endTask
        ImportanceListener a = make.get();
        MultiLayerNetwork whole = new MultiLayerNetwork(mlp(List.of(a.regularization(strength))));
        whole.init();
        whole.addListeners(a);
        fit(whole, 0, 10);
        a.endTask(whole);
        fit(whole, 100, 120);
        a.endTask(whole);

        // interrupted after batch 109 of task B; checkpoint; a fresh JVM would do exactly what follows
        ImportanceListener b = make.get();
        MultiLayerNetwork first = new MultiLayerNetwork(mlp(List.of(b.regularization(strength))));
        first.init();
        first.addListeners(b);
        fit(first, 0, 10);
        b.endTask(first);
        fit(first, 100, 110);
        Path netFile = tmp.resolve("net.zip");
        Path state = tmp.resolve("listener.safetensors");
        ModelSerializer.writeModel(first, netFile.toFile(), true);
        b.saveState(state);

        ImportanceListener c = make.get();   // same id: takes over the registry entry
        MultiLayerNetwork resumed = ModelSerializer.restoreMultiLayerNetwork(netFile.toFile(), true);
        c.restoreState(state, resumed);
        assertEquals(1, c.tasks());
        resumed.addListeners(c);
        fit(resumed, 110, 120);
        c.endTask(resumed);

        assertArrayEquals(whole.params().data().asFloat(), resumed.params().data().asFloat(), 1e-6f, "parameters");
        assertArrayEquals(a.importance().data().asFloat(), c.importance().data().asFloat(), 1e-6f, "importance");
        assertEquals(a.layerWeights().keySet(), c.layerWeights().keySet());
        assertTrue(a.importance().sumNumber().doubleValue() > 0, "importance recorded");
    }

    @Test
    void siRunResumesExactly() throws Exception {
        resumesExactly(() -> SiListener.builder().xi(1e-3).layerWeighting(LayerWeighting.AUTO).build(), 1.0);
    }

    @Test
    void ewcRunResumesExactly() throws Exception {
        resumesExactly(() -> EwcListener.builder().build(), 10.0);
    }

    @Test
    void stateOfAnotherListenerOrModelIsRefused() throws Exception {
        SiListener si = SiListener.builder().build();
        MultiLayerNetwork net = new MultiLayerNetwork(mlp(List.of(si.regularization(1))));
        net.init();
        net.addListeners(si);
        fit(net, 0, 3);
        si.endTask(net);
        Path state = tmp.resolve("si.safetensors");
        si.saveState(state);
        ModelFormatException kind = assertThrows(ModelFormatException.class, () -> EwcListener.builder().build().restoreState(state, net));
        assertTrue(kind.getMessage().contains("SiListener"), kind.getMessage());
        MultiLayerNetwork other = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(3).nOut(2).activation(Activation.SOFTMAX).build())
                .build());
        other.init();
        ModelFormatException size = assertThrows(ModelFormatException.class, () -> SiListener.builder().build().restoreState(state, other));
        assertTrue(size.getMessage().contains("parameters"), size.getMessage());
        Files.write(state, new byte[]{1, 2, 3});
        assertThrows(ModelFormatException.class, () -> SiListener.builder().build().restoreState(state, net));
    }
}
