package org.silora.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.silora.si.SiMath;

import java.util.Objects;
import java.util.Optional;

/**
 * The Ω-weighted pull towards the anchor, {@code strength · Σ Ω ⊙ (θ − θ*)²}, as a DL4J {@link Regularization}:
 * its gradient {@code 2·strength·Ω ⊙ (θ − θ*)} is added to the raw gradient before the updater, and its value is
 * part of the network's score. Ω (already multiplied by the layer weights λ_l, if the listener uses them) and θ* are
 * looked up in {@link ImportanceRegistry} under {@link #id()}; until something is registered there the term is zero.
 *
 * <p>Configured with scalars only, so it survives {@code MultiLayerConfiguration.toJson()/fromJson()}. Attach it
 * per layer, like any DL4J regularization, to weights and/or biases:
 * <pre>{@code
 * new DenseLayer.Builder().nIn(784).nOut(256)
 *         .regularization(List.of(si.regularization(0.5)))
 *         .regularizationBias(List.of(si.regularization(0.5)))
 *         .build();
 * }</pre>
 * {@link SiListener#regularization(double)} gives strength c (Zenke et al.: {@code L + c·Σ Ω(θ − θ*)²});
 * {@link EwcListener#regularization(double)} gives strength λ/2 (Kirkpatrick et al.: {@code L + λ/2·Σ F(θ − θ*)²}).
 */
public final class ImportanceRegularization implements Regularization {

    @JsonProperty("id")
    private final String id;
    @JsonProperty("strength")
    private final double strength;

    /**
     * @param id       the listener's id, under which it registers importance and anchor
     * @param strength the factor in front of {@code Σ Ω ⊙ (θ − θ*)²}, at least 0
     */
    @JsonCreator
    public ImportanceRegularization(@JsonProperty("id") String id, @JsonProperty("strength") double strength) {
        if (id == null || id.isBlank()) throw new IllegalArgumentException("id must not be blank");
        if (!(strength >= 0) || !Double.isFinite(strength)) {
            throw new IllegalArgumentException("strength must be finite and >= 0, got " + strength);
        }
        this.id = id;
        this.strength = strength;
    }

    /** The id the importance is registered under. */
    public String id() {
        return id;
    }

    /** The factor in front of {@code Σ Ω ⊙ (θ − θ*)²}. */
    public double strength() {
        return strength;
    }

    @Override
    public ApplyStep applyStep() {
        return ApplyStep.BEFORE_UPDATER;
    }

    @Override
    public void apply(INDArray param, INDArray gradView, double lr, int iteration, int epoch) {
        if (strength == 0) return;
        Optional<ImportanceRegistry.Slice> s = ImportanceRegistry.find(id, param);
        if (s.isEmpty()) return;
        INDArray pull = param.sub(s.get().anchor()).muli(s.get().importance()).muli(2 * strength);
        gradView.addi(pull);
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        if (strength == 0) return 0;
        Optional<ImportanceRegistry.Slice> s = ImportanceRegistry.find(id, param);
        return s.map(sl -> strength * SiMath.quadraticPenalty(sl.importance(), param, sl.anchor())).orElse(0.0);
    }

    @Override
    public Regularization clone() {
        return new ImportanceRegularization(id, strength);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImportanceRegularization r && r.id.equals(id) && Double.compare(r.strength, strength) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, strength);
    }

    @Override
    public String toString() {
        return "ImportanceRegularization(id=" + id + ", strength=" + strength + ")";
    }
}
