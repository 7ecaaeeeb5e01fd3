/**
 * SI and EWC for every DL4J model ({@code MultiLayerNetwork}, {@code ComputationGraph}): a
 * {@link org.deeplearning4j.optimize.api.TrainingListener} records the importance of every parameter while a task
 * trains, {@code endTask(model)} consolidates it at the boundary the user marks, and a
 * {@link org.nd4j.linalg.learning.regularization.Regularization} attached per layer pulls the parameters towards
 * the anchor with that importance while the next task trains.
 *
 * <pre>{@code
 * SiListener si = SiListener.builder().xi(1e-3).build();
 * List<Regularization> pull = List.of(si.regularization(0.5));    // c = 0.5
 * MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
 *         .updater(new Adam(1e-3))
 *         .list()
 *         .layer(new DenseLayer.Builder().nIn(784).nOut(256).activation(Activation.RELU)
 *                 .regularization(pull).regularizationBias(pull).build())
 *         .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(256).nOut(10).activation(Activation.SOFTMAX)
 *                 .regularization(pull).regularizationBias(pull).build())
 *         .build();
 * MultiLayerNetwork net = new MultiLayerNetwork(conf);
 * net.init();
 * net.addListeners(si);
 * net.fit(taskA, 5);
 * si.endTask(net);          // Ω and the anchor; the regularization is active from here on
 * net.fit(taskB, 5);
 * si.endTask(net);          // online: Ω summed, anchor moved
 * }</pre>
 *
 * <p>Attach the regularization with the layer builders: DL4J 1.0.0-M2.1 adds a custom regularization given to
 * {@code NeuralNetConfiguration.Builder.regularization(...)} to every layer twice, and {@code endTask} refuses that.
 *
 * <p>Shared math lives in {@link org.silora.si.SiMath} and {@link org.silora.ewc.FisherMath}. How the
 * regularization finds its arrays is described in {@link org.silora.dl4j.ImportanceState}.
 */
package org.silora.dl4j;
