package org.silora.demo;

import java.util.List;

/**
 * How a regularised method's coefficient is chosen, on validation data only (validation quiz items and Brown text
 * outside ν, never the quiz or the held-out texts): among the coefficients whose run keeps at least
 * {@value #KEEP} of the unregularised run's validation-accuracy gain over the base model, the one with the lowest
 * general validation perplexity (the one that forgets least while still learning the domain); the smallest
 * coefficient when none does.
 *
 * <pre>{@code
 * int k = Choice.choose(List.of(new Choice.Candidate(1e-4, 0.55, 210), new Choice.Candidate(1e-2, 0.38, 190)),
 *         new Choice.Candidate(0, 0.56, 230), 0.35);   // 0: the 1e-2 run kept less than 3/4 of the gain
 * }</pre>
 */
public final class Choice {
    /** Share of the unregularised validation gain a chosen coefficient must keep. */
    public static final double KEEP = 0.75;

    /** One run's validation figures. */
    public record Candidate(double coefficient, double validAcc, double validGeneralPpl) {
    }

    private Choice() {
    }

    /** Index into {@code candidates} (ordered by coefficient, smallest first) of the chosen one. */
    public static int choose(List<Candidate> candidates, Candidate unregularised, double baseValidAcc) {
        if (candidates.isEmpty()) throw new IllegalArgumentException("no candidates");
        double gain = unregularised.validAcc() - baseValidAcc;
        int best = -1;
        for (int i = 0; i < candidates.size(); i++) {
            Candidate c = candidates.get(i);
            boolean keeps = c.validAcc() - baseValidAcc >= KEEP * gain;
            if (keeps && (best < 0 || c.validGeneralPpl() < candidates.get(best).validGeneralPpl())) best = i;
        }
        return best < 0 ? 0 : best;
    }

    /** The rule in words, for reports. */
    public static String rule() {
        return "lowest general-validation PPL among the coefficients whose run keeps at least 75 % of the unregularised run's "
                + "validation-accuracy gain over the base model (LoRA(nu+mu) for SI, LoRA(mu) for EWC); the smallest if none does; "
                + "chosen per seed on the validation items and Brown text outside nu";
    }
}
