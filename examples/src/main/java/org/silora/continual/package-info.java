/**
 * The DL4J path's experiment behind {@code silora continual-mnist}: task-incremental split MNIST on the shipped
 * digits with one MLP, trained in sequence by fine-tuning, EWC and the SI listener, against joint training.
 * {@link org.silora.continual.ContinualMnist} runs it, {@link org.silora.continual.ResultsJson} and
 * {@link org.silora.continual.ResultsTable} report it, {@link org.silora.continual.AccuracyChart} draws it; the
 * command line only parses options and writes the files.
 */
package org.silora.continual;
