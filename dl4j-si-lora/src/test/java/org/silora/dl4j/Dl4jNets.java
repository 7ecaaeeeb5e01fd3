package org.silora.dl4j;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;

/** Small networks whose steps can be worked out by hand. */
final class Dl4jNets {

    static final double LR = 0.01;

    private Dl4jNets() {
    }

    /**
     * y = w·x + b, MSE, plain SGD with lr 0.01, double precision, parameters (w, b) = (0.5, 0). With minibatch
     * averaging DL4J's loss is L = (1/B)·Σ (ŷ − y)², so ∂L/∂w = (2/B)·Σ (ŷ − y)·x and ∂L/∂b = (2/B)·Σ (ŷ − y).
     */
    static MultiLayerNetwork linear(List<Regularization> reg) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .dataType(DataType.DOUBLE).seed(1).updater(new Sgd(LR))
                .list()
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(1).nOut(1)
                        .regularization(reg).regularizationBias(reg)
                        .activation(Activation.IDENTITY).build())
                .build());
        net.init();
        net.setParams(Nd4j.createFromArray(0.5, 0.0));
        return net;
    }

    /** Inputs (1, 2), targets (3, 5). */
    static DataSet taskA() {
        return new DataSet(Nd4j.createFromArray(new double[][]{{1}, {2}}), Nd4j.createFromArray(new double[][]{{3}, {5}}));
    }

    /** Inputs (1, -1), targets (-1, 0). */
    static DataSet taskB() {
        return new DataSet(Nd4j.createFromArray(new double[][]{{1}, {-1}}), Nd4j.createFromArray(new double[][]{{-1}, {0}}));
    }
}
