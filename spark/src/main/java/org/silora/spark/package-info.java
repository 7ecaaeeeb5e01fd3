/**
 * Data-parallel LoRA and SI training on Apache Spark, equal to one process: {@link org.silora.spark.SparkGradientSource}
 * computes each step's gradients on replicas of the model on Spark executors and the driver's
 * {@link org.silora.lora.LoraTrainer} applies them (penalty, SI, Adam, checkpoints) as the single-process trainer does.
 *
 * <pre>{@code
 * trainer.train(rows, progress, new SparkGradientSource(sc, ReplicaSpec.of(modelDir, lora, engine), trainer, workers));
 * }</pre>
 */
package org.silora.spark;
