package org.silora.demo;

import java.util.Locale;

/**
 * The demo's {@code report.md}: what was run and how (the plan in words, the interval rules), the tables and findings
 * of {@link Results}, the figures of {@link Figures}, the cost of the importance estimates, and notes on scale.
 *
 * <pre>{@code
 * Experiment.Outcome o = Experiment.run(plan, out, System.err, launcher);
 * AtomicFiles.writeString(out.resolve("report.md"), ReportPage.markdown(plan, o, minutes));
 * }</pre>
 */
public final class ReportPage {

    private ReportPage() {
    }

    /** The page for a run of {@code plan} that took {@code minutes}. */
    public static String markdown(DemoPlan plan, Experiment.Outcome o, double minutes) {
        StringBuilder sb = new StringBuilder();
        sb.append("# SI-LoRA demo report\n\n");
        sb.append(String.format(Locale.ROOT, "Run: %s, %.1f minutes, seeds %s (each seed: data order and LoRA initialisation of both phases). "
                        + "LoRA r %d, α %.0f on every linear layer of the blocks (peft's all-linear), lr %s, batch %d × %d tokens. "
                        + "Phase ν: %d epochs over %d Brown rows with SI recorded twice on the same run (this project's recipe: ξ 1e-7, "
                        + "τ %s; the authors' recipe: ω clamped each step, ξ 1e-9, Ω per epoch, λ = softmax(1e-8‖Ω‖)), then EWC's Fisher over %d rows. "
                        + "Phase μ: every method %d epochs over the domain's facts (`<domain>-kind-train.jsonl`: one fact line per quizzed or "
                        + "validation synset, plus question/answer lines of other synsets that teach the format). "
                        + "Domain accuracy: acc_norm on the 4-option quiz (`<domain>-kind-quiz.jsonl`, chance 25 %%), whose questions never "
                        + "appear in training — only their facts do, as fact lines; domain PPL: held-out fact lines of synsets never trained on; "
                        + "general PPL and Δ loss (mean per-token loss minus the base model's): held-out Brown. Coefficients are chosen per seed "
                        + "on validation items and Brown text outside ν: %s.%n",
                plan.models().size() > 1 || plan.domains().size() > 1 ? "full" : "--quick", minutes, plan.seeds(), plan.r(), plan.alpha(),
                Double.toString(plan.lr()), plan.batchSize(), plan.seqLen(), plan.nuEpochs(), plan.nuRows(), plan.tau(), plan.fisherSamples(),
                plan.muEpochs(), Choice.rule()));
        sb.append("\nIntervals: Δ loss and times: Student's t over the seeds; perplexities: geometric mean over the seeds (exp of the mean "
                + "loss) with the t interval of the log; accuracy: the seeds' t interval combined with the binomial interval of the quiz's "
                + "items, so the deterministic base model still has one.\n");
        sb.append(o.markdown()).append('\n');
        for (Report.Run r : o.runs()) {
            String tag = r.model() + "-" + r.domain();
            sb.append(String.format(Locale.ROOT, "%n![trade-off front](front_%s.png)%n![task loss vs penalty](fig4_loss_vs_penalty_%s.png)%n"
                    + "![log Omega norms](fig7_omega_norm_heatmap_%s.png)%n", tag, tag, tag));
            double nu = 0, fisher = 0;
            long omegaBytes = 0, fisherBytes = 0;
            for (long s : plan.seeds()) {
                var j = o.units().get(new Unit(r.model(), r.domain(), s, "nu", -1).id());
                nu += j.get("train_seconds").asDouble() / plan.seeds().size();
                fisher += j.get("fisher_seconds").asDouble() / plan.seeds().size();
                omegaBytes = j.get("omega_bytes_f32").asLong();
                fisherBytes = j.get("fisher_bytes_f32").asLong();
            }
            sb.append(String.format(Locale.ROOT, "%nImportance cost (%s): phase ν with both SI recorders took %.1f s per seed (it trains the ν "
                            + "adapter as well, %d epochs over %d rows); EWC's Fisher over %d rows %.1f s. Ω takes %d bytes (F32), the Fisher "
                            + "%d (%.1f %%: Ω covers the LoRA targets, the Fisher every linear layer of the blocks).%n", tag, nu,
                    plan.nuEpochs(), plan.nuRows(), plan.fisherSamples(), fisher, omegaBytes, fisherBytes, 100.0 * omegaBytes / fisherBytes));
        }
        sb.append("\n## Notes on scale\n\n");
        sb.append("These are models of a few million parameters pretrained on one million words, not GPT-J-6B on the Pile. "
                + "Ω = max(0, ω)/(Δν² + ξ) is not scale-free, so the paper's φ = 1e-3 need not carry over: φ is swept and chosen on "
                + "validation data. A verdict of 'cannot be told apart' means the intervals overlap at this number of seeds and items; "
                + "it is a result, not a failure of the run.\n");
        return sb.toString();
    }
}
