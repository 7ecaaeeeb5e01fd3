/**
 * Elastic Weight Consolidation, the baseline SI is compared with (SPEC §2): {@link org.silora.ewc.FisherEstimator}
 * computes the per-sample empirical Fisher of every base linear weight for EWC-LoRA,
 * {@link org.silora.ewc.FisherInformation} is that Fisher, its file and its penalty {@code λ·Σ F ⊙ D²}, and
 * {@link org.silora.ewc.FisherMath} holds the running-mean Fisher that the DL4J path's
 * {@code org.silora.dl4j.EwcListener} folds minibatch gradients into.
 *
 * <pre>{@code
 * try (FisherEstimator est = FisherEstimator.of(Path.of("model"))) {
 *     est.compute(samples, 8, FisherEstimator.Progress.NONE).save(Path.of("fisher.safetensors"), DType.F32);
 * }
 * }</pre>
 */
package org.silora.ewc;
