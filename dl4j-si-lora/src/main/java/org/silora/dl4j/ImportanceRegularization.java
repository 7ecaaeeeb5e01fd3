package org.silora.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonIgnore;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.silora.si.SiMath;

import java.util.Objects;
import java.util.Optional;

/**
 * The Ω-weighted pull towards the anchor, {@code strength · Σ Ω ⊙ (θ − θ*)²}, as a DL4J {@link Regularization}:
 * its gradient {@code 2·strength·Ω ⊙ (θ − θ*)} is added to the raw gradient before the updater, and its value is
 * part of the network's score. Ω (already multiplied by the layer weights λ_l, if the listener uses them) and θ* are
 * the {@link ImportanceState} of the listener that made it; until that listener's first task ends the term is zero.
 *
 * <p>Its configuration is scalars only (id and strength), so it survives {@code MultiLayerConfiguration.toJson()/
 * fromJson()}; the state it is bound to is not serialized. A regularization read back from JSON is bound again by its
 * listener: explicitly with {@code listener.bind(network)}, or on the listener's first gradient or {@code endTask} on
 * that network. One that is bound to nothing refuses to run (it never silently adds nothing). Attach it per layer,
 * like any DL4J regularization, to weights and/or biases:
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
    @JsonIgnore
    private transient volatile ImportanceState state;

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

    /** A regularization bound to a listener's state from the start. */
    ImportanceRegularization(String id, double strength, ImportanceState state) {
        this(id, strength);
        this.state = state;
    }

    /** Binds this regularization to a listener's state (done by the listener: {@code bind(network)}). */
    void bind(ImportanceState state) {
        this.state = state;
    }

    /** Whether a listener's state is bound (false after a JSON round trip until the listener binds it again). */
    public boolean isBound() {
        return state != null;
    }

    private Optional<ImportanceState.Slice> slice(INDArray param) {
        ImportanceState s = state;
        if (s == null) {
            throw new IllegalStateException("regularization '" + id + "' is bound to no listener's importance (a configuration"
                    + " read back from JSON, or built by hand): call bind(network) on the SiListener/EwcListener with id '"
                    + id + "' before training, or make it with listener.regularization(strength)");
        }
        return s.find(param);
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
        Optional<ImportanceState.Slice> s = slice(param);
        if (s.isEmpty()) return;   // the first task: nothing to hold on to yet
        INDArray pull = param.sub(s.get().anchor()).muli(s.get().importance()).muli(2 * strength);
        gradView.addi(pull);
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        if (strength == 0) return 0;
        Optional<ImportanceState.Slice> s = slice(param);
        return s.map(sl -> strength * SiMath.quadraticPenalty(sl.importance(), param, sl.anchor())).orElse(0.0);
    }

    @Override
    public Regularization clone() {
        return new ImportanceRegularization(id, strength, state);   // DL4J clones per layer: the clone stays bound
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
