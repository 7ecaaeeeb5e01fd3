package org.silora.si;

/**
 * How phase ν turns the path integral into Ω, and how λ is formed from it.
 *
 * <ul>
 * <li>{@link #SPEC}: this project's defaults (SPEC §2): ω summed over the whole phase and clamped once, at
 *     consolidation; ξ = 1e-7; λ = softmax(‖Ω_l‖/τ) with τ chosen by the caller (default "auto", the norms'
 *     standard deviation).</li>
 * <li>{@link #AUTHORS}: the recipe of the paper's released code: ω clamped at 0 after every step, ξ = 1e-9,
 *     Ω += ω/(Δ² + ξ) at the end of each ν epoch (Δ being that epoch's change, ω reset then), and
 *     λ = softmax(1e-8·‖Ω_l‖), i.e. τ = 1e8 (nearly uniform unless the norms reach 1e8).</li>
 * </ul>
 *
 * <pre>{@code
 * SiRecorder si = SiRecorder.builder(model).recipe(SiRecipe.AUTHORS).build();
 * trainer.addListener(si);
 * trainer.train(rows, progress);                                      // Ω accumulates at each epoch's end
 * Importance imp = si.consolidate(SiRecipe.AUTHORS.weighting(LayerWeighting.AUTO), provenance);
 * }</pre>
 */
public enum SiRecipe {
    SPEC(SiMath.DEFAULT_XI, false, false),
    AUTHORS(1e-9, true, true);

    /** The authors' layer-weight temperature: λ = softmax(1e-8·‖Ω_l‖). */
    public static final double AUTHORS_TAU = 1e8;

    private final double xi;
    private final boolean clampEachStep;
    private final boolean perEpoch;

    SiRecipe(double xi, boolean clampEachStep, boolean perEpoch) {
        this.xi = xi;
        this.clampEachStep = clampEachStep;
        this.perEpoch = perEpoch;
    }

    public double xi() {
        return xi;
    }

    /** ω := max(0, ω) after every step. */
    public boolean clampEachStep() {
        return clampEachStep;
    }

    /** Ω accumulated at the end of each ν epoch instead of once at the end of the phase. */
    public boolean perEpoch() {
        return perEpoch;
    }

    /** The layer weighting of this recipe: {@code requested} for SPEC, τ = 1e8 for AUTHORS. */
    public LayerWeighting weighting(LayerWeighting requested) {
        return this == AUTHORS ? new LayerWeighting(false, AUTHORS_TAU) : requested;
    }

    /** Parses {@code spec} or {@code authors}. */
    public static SiRecipe parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "spec" -> SPEC;
            case "authors" -> AUTHORS;
            default -> throw new IllegalArgumentException("SI recipe must be 'spec' or 'authors', got '" + s + "'");
        };
    }

    /** The name used in files and on the command line. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
