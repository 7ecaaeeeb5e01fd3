package org.silora.si;

/**
 * How the per-module weights λ_l are formed from the importance norms ‖Ω_l‖₂ (SPEC §2).
 *
 * @param uniform {@code true}: λ_l = 1/L, the paper's "− layer" ablation
 * @param tau     softmax temperature τ &gt; 0; {@code NaN} means "auto": τ = standard deviation of the norms
 */
public record LayerWeighting(boolean uniform, double tau) {

    /** The paper's softmax(‖Ω_l‖₂) with τ = 1. */
    public static final LayerWeighting PAPER = new LayerWeighting(false, 1.0);
    /** softmax(‖Ω_l‖₂ / σ(‖Ω‖)). */
    public static final LayerWeighting AUTO = new LayerWeighting(false, Double.NaN);
    /** λ_l = 1/L. */
    public static final LayerWeighting UNIFORM = new LayerWeighting(true, Double.NaN);

    public LayerWeighting {
        if (!uniform && !Double.isNaN(tau) && !(tau > 0 && Double.isFinite(tau))) {
            throw new IllegalArgumentException("tau must be positive (or auto), got " + tau);
        }
    }

    /** Parses {@code "1.0"}, {@code "auto"} or {@code "uniform"}. */
    public static LayerWeighting parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> AUTO;
            case "uniform" -> UNIFORM;
            default -> {
                try {
                    yield new LayerWeighting(false, Double.parseDouble(s));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("tau must be a number, 'auto' or 'uniform', got '" + s + "'");
                }
            }
        };
    }

    @Override
    public String toString() {
        return uniform ? "uniform" : Double.isNaN(tau) ? "auto" : Double.toString(tau);
    }
}
