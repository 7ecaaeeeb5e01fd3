package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.eval.Loaders;
import org.silora.eval.MultipleChoiceItem;
import org.silora.eval.MultipleChoiceScorer;
import org.silora.eval.Perplexity;
import org.silora.ewc.FisherEstimator;
import org.silora.ewc.FisherInformation;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.ModelFingerprint;
import org.silora.io.PeftAdapters;
import org.silora.io.TextDocuments;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.Penalty;
import org.silora.lora.TrainingOptions;
import org.silora.lora.TrainingResult;
import org.silora.control.GeneralBudget;
import org.silora.control.ImportanceDial;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.QuadraticPenalty;
import org.silora.si.SiMode;
import org.silora.si.SiRecipe;
import org.silora.si.SiRecorder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Runs one {@link Unit} of the demo and returns its figures as JSON: the base model's evaluation, phase ν (SI recorded
 * with this project's recipe and the authors' recipe side by side on the same run, then EWC's Fisher), or one phase-μ
 * method trained and evaluated. Files: {@code OUT/<tag>/s<seed>/nu/} (ν adapter, both importance files, the Fisher)
 * and {@code OUT/<tag>/s<seed>/<method>[-k]/} (the μ adapter).
 *
 * <p>Every evaluation measures: general perplexity and mean per-token loss on held-out Brown text (Δ loss is taken
 * against the base model's in the report), domain perplexity on held-out fact lines of synsets never trained on,
 * domain accuracy on the quiz (acc and acc_norm), and, for the methods whose runs are compared when coefficients are
 * chosen, the validation figures.
 *
 * <pre>{@code
 * UnitRunner r = new UnitRunner(DemoPlan.quick(), Path.of("silora-out/demo"));
 * ObjectNode figures = r.run(new Unit("tiny-llama", "medical", 1, "lora_mu", -1), (done, total) -> { });
 * }</pre>
 */
final class UnitRunner {

    /** Reports training progress of the running unit: optimizer steps done of the unit's total. */
    interface Progress {
        void onStep(int done, int total);
    }

    private final DemoPlan plan;
    private final Path out;
    private final Map<String, Data> data = new HashMap<>();
    private final ObjectMapper om = new ObjectMapper();

    UnitRunner(DemoPlan plan, Path out) {
        this.plan = plan;
        this.out = out;
    }

    /** Copies the shipped models and data that the plan needs into {@code out} (before workers start). */
    static void extract(DemoPlan plan, Path out) throws IOException {
        for (String m : plan.models()) ShippedModels.extract(m, out.resolve("models"));
        Path d = out.resolve("data");
        for (String f : List.of("brown-train.jsonl", "brown-heldout.jsonl")) ShippedModels.data(f, d);
        for (String dom : plan.domains()) {
            for (String f : List.of("-kind-train.jsonl", "-kind-quiz.jsonl", "-kind-valid.jsonl", "-heldout-text.jsonl")) {
                ShippedModels.data(dom + f, d);
            }
        }
    }

    /** The data of one model × domain, tokenized once per process. */
    private static final class Data {
        Path model;
        String fingerprint;
        HfTokenizer tok;
        List<int[]> nuRows;
        List<int[]> replayPool;
        List<int[]> muRows;
        int[] heldOutIds;
        int[] validIds;
        int[] domainIds;
        List<MultipleChoiceItem> quiz;
        List<MultipleChoiceItem> valid;
    }

    private Data data(Unit u) throws IOException {
        Data cached = data.get(u.tag());
        if (cached != null) return cached;
        Data d = new Data();
        Path dir = out.resolve("data");
        d.model = out.resolve("models").resolve(u.model());
        d.fingerprint = ModelFingerprint.of(d.model);
        d.tok = HfTokenizer.load(d.model);
        List<String> general = TextDocuments.read(dir.resolve("brown-train.jsonl"));
        // Brown documents after the ν rows' source are general validation text for choosing coefficients
        int split = (int) (general.size() * 0.9);
        List<int[]> generalRows = TextDocuments.windows(general.subList(0, split), d.tok, plan.seqLen());
        int nu = plan.nuRows() > 0 ? Math.min(plan.nuRows(), generalRows.size()) : generalRows.size();
        d.nuRows = new ArrayList<>(generalRows.subList(0, nu));
        d.replayPool = new ArrayList<>(generalRows.subList(nu, generalRows.size()));
        d.validIds = head(Perplexity.tokens(general.subList(split, general.size()), d.tok), plan.pplTokens() / 2);
        d.heldOutIds = head(Perplexity.tokens(TextDocuments.read(dir.resolve("brown-heldout.jsonl")), d.tok), plan.pplTokens());
        d.domainIds = Perplexity.tokens(TextDocuments.read(dir.resolve(u.domain() + "-heldout-text.jsonl")), d.tok);
        List<int[]> mu = TextDocuments.windows(TextDocuments.read(dir.resolve(u.domain() + "-kind-train.jsonl")), d.tok, plan.seqLen());
        d.muRows = plan.muRows() > 0 && mu.size() > plan.muRows() ? new ArrayList<>(mu.subList(0, plan.muRows())) : mu;
        d.quiz = Loaders.load("sciq", dir.resolve(u.domain() + "-kind-quiz.jsonl"), false).items();
        if (plan.quizItems() > 0 && d.quiz.size() > plan.quizItems()) d.quiz = d.quiz.subList(0, plan.quizItems());
        d.valid = Loaders.load("sciq", dir.resolve(u.domain() + "-kind-valid.jsonl"), false).items();
        if (plan.quizItems() > 0 && d.valid.size() > plan.quizItems()) d.valid = d.valid.subList(0, plan.quizItems());
        data.put(u.tag(), d);
        return d;
    }

    private LoraConfig lora(String model) {
        return LoraConfig.builder().r(plan.r()).loraAlpha(plan.alpha()).targetModules(plan.targets()).baseModelNameOrPath(model).build();
    }

    private TrainingOptions options(int epochs, long seed) {
        return TrainingOptions.builder().learningRate(plan.lr()).batchSize(plan.batchSize()).epochs(epochs).seed(seed).build();
    }

    Path seedDir(Unit u) {
        return out.resolve(u.tag()).resolve("s" + u.seed());
    }

    /** Runs the unit; {@code done} holds the JSON of units already finished (dependencies are among them). */
    ObjectNode run(Unit u, Map<String, JsonNode> done, Progress progress) throws IOException {
        Data d = data(u);
        ObjectNode j = om.createObjectNode();
        j.put("unit", u.id());
        j.put("model", u.model());
        j.put("domain", u.domain());
        j.put("method", u.method());
        j.put("seed", u.seed());
        long t0 = System.nanoTime();
        switch (u.method()) {
            case "base" -> {
                try (CausalLm lm = CausalLm.load(d.model)) {
                    evaluate(lm, d, j, true);
                }
                j.put("domain_items", d.quiz.size());
                j.put("valid_items", d.valid.size());
                j.put("mu_rows", d.muRows.size());
                j.put("nu_rows", d.nuRows.size());
                j.put("heldout_tokens", d.heldOutIds.length);
                j.put("domain_heldout_tokens", d.domainIds.length);
            }
            case "nu" -> nu(u, d, j, progress);
            case "si_dial", "wise_ft" -> dial(u, d, j);
            default -> mu(u, d, j, done, progress);
        }
        j.put("seconds", (System.nanoTime() - t0) / 1e9);
        return j;
    }

    private void nu(Unit u, Data d, ObjectNode j, Progress progress) throws IOException {
        LoraModel nu = LoraModel.create(d.model, lora(u.model()), u.seed());
        LoraTrainer t = new LoraTrainer(nu, options(plan.nuEpochs(), u.seed()));
        SiRecorder spec = SiRecorder.builder(nu).mode(SiMode.PAPER).build();
        SiRecorder authors = SiRecorder.builder(nu).mode(SiMode.PAPER).recipe(SiRecipe.AUTHORS).build();
        t.addListener(spec);
        t.addListener(authors);
        List<int[]> probe = d.nuRows.subList(0, Math.min(64, d.nuRows.size()));   // the loss drop, on the first ν rows
        double before = t.meanLoss(probe);
        TrainingResult r = t.train(d.nuRows, (s, total, loss) -> progress.onStep(s, total));
        double after = t.meanLoss(probe);
        Map<String, String> prov = Importance.provenance(u.model(), d.fingerprint, nu, r.tokens(),
                "brown-train.jsonl (" + d.nuRows.size() + " rows x " + (plan.seqLen() + 1) + " tokens, " + plan.nuEpochs() + " epochs)");
        j.put("loss_before", before);
        j.put("loss_after", after);
        j.put("steps", r.steps());
        j.put("train_seconds", r.seconds());
        j.put("omega_sum", spec.omegaSum());
        Path dir = seedDir(u).resolve("nu");
        Files.createDirectories(dir);
        Importance is = spec.consolidate(LayerWeighting.parse(plan.tau()), prov);
        Importance ia = authors.consolidate(SiRecipe.AUTHORS.weighting(LayerWeighting.AUTO), prov);
        is.save(dir.resolve("importance.safetensors"), DType.F32);
        ia.save(dir.resolve("importance-authors.safetensors"), DType.F32);
        PeftAdapters.save(nu.config(), nu.modules(), dir, Map.of("silora.phase", "nu"));
        nu.lm().close();
        Experiment.describe(is, j.putObject("spec"));
        Experiment.describe(ia, j.putObject("authors"));
        j.put("omega_bytes_f32", is.omegaBytes(DType.F32));
        List<int[]> fisherRows = d.nuRows.subList(0, Math.min(plan.fisherSamples(), d.nuRows.size()));
        try (FisherEstimator fe = FisherEstimator.of(d.model)) {
            FisherInformation f = fe.compute(fisherRows, plan.batchSize(), FisherEstimator.Progress.NONE);
            f.save(dir.resolve("fisher.safetensors"), DType.F32);
            j.put("fisher_samples", fisherRows.size());
            j.put("fisher_seconds", Double.parseDouble(f.metadata().getOrDefault("seconds", "NaN")));
            j.put("fisher_bytes_f32", f.valueBytes(DType.F32));
        }
    }

    private void mu(Unit u, Data d, ObjectNode j, Map<String, JsonNode> done, Progress progress) throws IOException {
        Path nuDir = seedDir(u).resolve("nu");
        LoraModel m;
        Penalty penalty = null;
        GeneralBudget budget = null;
        List<int[]> rows = d.muRows;
        Double value = null;
        switch (u.method()) {
            case "lora_mu" -> m = LoraModel.create(d.model, lora(u.model()), u.seed());
            case "rslora" -> m = LoraModel.create(d.model, lora(u.model()).toBuilder().useRslora(true).build(), u.seed());
            case "lora_nu_mu" -> m = Importance.load(nuDir.resolve("importance.safetensors")).continueFrom(d.model);
            case "ewc_lora" -> {
                m = LoraModel.create(d.model, lora(u.model()), u.seed());
                value = plan.ewcGrid().get(u.knob());
                penalty = FisherInformation.load(nuDir.resolve("fisher.safetensors")).penalty(m, value);
            }
            case "si_lora", "si_lora_no_layer", "si_lora_authors" -> {
                boolean authors = u.method().equals("si_lora_authors");
                Importance imp = Importance.load(nuDir.resolve(authors ? "importance-authors.safetensors" : "importance.safetensors"));
                if (u.method().equals("si_lora_no_layer")) imp = imp.withWeighting(LayerWeighting.UNIFORM);
                value = u.method().equals("si_lora") ? plan.phiGrid().get(u.knob()) : chosenPhi(u, done, j);
                m = imp.continueFrom(d.model);
                penalty = QuadraticPenalty.si(m, imp, value);
            }
            case "si_budget" -> {
                Importance imp = Importance.load(nuDir.resolve("importance.safetensors"));
                value = plan.budgets().get(u.knob());
                m = imp.continueFrom(d.model);
                // φ starts at the sweep's largest value and adapts; the probe is the validation Brown text, not the report's
                budget = GeneralBudget.builder(QuadraticPenalty.si(m, imp, plan.phiGrid().get(plan.phiGrid().size() - 1)))
                        .budget(value).every(plan.budgetEvery()).probe(probeRows(d)).batchSize(plan.batchSize()).build(m);
                penalty = budget;
            }
            case "replay" -> {
                m = LoraModel.create(d.model, lora(u.model()), u.seed());
                value = plan.replayFractions().get(u.knob());
                rows = replayRows(d, value, u.seed());
                j.put("replay_rows", rows.size() - d.muRows.size());
            }
            default -> throw new IllegalArgumentException("unknown demo method " + u.method());
        }
        if (value != null) j.put("value", value);
        LoraTrainer t = new LoraTrainer(m, options(plan.muEpochs(), u.seed()));
        if (penalty != null) t.setPenalty(penalty);
        if (budget != null) t.addListener(budget);
        int steps = (rows.size() + plan.batchSize() - 1) / plan.batchSize() * plan.muEpochs();
        List<Integer> early = new ArrayList<>();
        if (u.method().equals("lora_mu")) {
            for (double f : plan.earlyPoints()) {
                int k = Math.max(1, (int) Math.round(f * steps));
                if (early.contains(k) || k >= steps) {
                    throw new IllegalArgumentException("early evaluation points " + plan.earlyPoints() + " need more than " + steps + " steps");
                }
                early.add(k);
            }
        }
        List<Map<String, INDArray[]>> snapshots = new ArrayList<>();
        TrainingResult r = t.train(rows, (s, total, loss) -> {
            progress.onStep(s, total);
            if (early.contains(s)) snapshots.add(factors(m));
        });
        j.put("steps", r.steps());
        j.put("tokens", r.tokens());
        j.put("train_seconds", r.seconds());
        ArrayNode loss = j.putArray("step_loss");
        r.stepLosses().forEach(loss::add);
        ArrayNode pen = j.putArray("step_penalty");
        r.stepPenalties().forEach(pen::add);
        if (budget != null) {
            j.put("base_probe_loss", budget.baseLoss());
            j.put("final_probe_delta_loss", budget.measureDeltaLoss());
            ArrayNode tr = j.putArray("budget_trajectory");
            for (GeneralBudget.Point p : budget.trajectory()) {
                ObjectNode q = tr.addObject();
                q.put("step", p.step());
                q.put("delta_loss", p.deltaLoss());
                q.put("phi", p.coefficient());
            }
        }
        evaluate(m.lm(), d, j, VALIDATED.contains(u.method()));
        Path dir = seedDir(u).resolve(u.method() + (u.knob() >= 0 ? "-" + u.knob() : ""));
        PeftAdapters.save(m.config(), m.modules(), dir, Map.of("silora.phase", "mu", "silora.method", u.method()));
        m.lm().close();
        if (!early.isEmpty()) {
            ArrayNode e = j.putArray("early");
            for (int i = 0; i < snapshots.size(); i++) {
                LoraModel em = LoraModel.withFactors(d.model, m.config(), snapshots.get(i));
                ObjectNode p = e.addObject();
                p.put("steps", early.get(i));
                p.put("fraction", plan.earlyPoints().get(i));
                evaluate(em.lm(), d, p, true);
                em.lm().close();
            }
        }
    }

    /** Rows of the validation Brown text (disjoint from the held-out text the report evaluates on): the budget's probe. */
    private List<int[]> probeRows(Data d) {
        List<int[]> rows = new ArrayList<>();
        for (int i = 0; i + plan.seqLen() + 1 <= d.validIds.length; i += plan.seqLen()) rows.add(Arrays.copyOfRange(d.validIds, i, i + plan.seqLen() + 1));
        if (rows.isEmpty()) throw new IllegalArgumentException("the validation text holds fewer than " + (plan.seqLen() + 1) + " tokens");
        return rows;
    }

    /**
     * The importance dial ({@code si_dial}) or the uniform rescale ({@code wise_ft}) of this seed's LoRA(ν+μ) adapter
     * toward the ν anchor, evaluated without training: the dialled model is written as a float32 checkpoint and loaded.
     */
    private void dial(Unit u, Data d, ObjectNode j) throws IOException {
        Path nuDir = seedDir(u).resolve("nu");
        Path muDir = seedDir(u).resolve("lora_nu_mu");
        ImportanceDial.Setting setting = u.method().equals("si_dial") ? ImportanceDial.Setting.dial(plan.dialStrengths().get(u.knob()))
                : ImportanceDial.Setting.uniform(plan.uniformAlphas().get(u.knob()));
        j.put("value", setting.value());
        ImportanceDial dial = ImportanceDial.of(PeftAdapters.readConfig(muDir), PeftAdapters.readFactors(muDir),
                Importance.load(nuDir.resolve("importance.safetensors")));
        Path dir = seedDir(u).resolve(u.method() + "-" + u.knob());
        long t0 = System.nanoTime();
        dial.writeMerged(d.model, dir, setting, DType.F32);
        j.put("dial_seconds", (System.nanoTime() - t0) / 1e9);
        try (CausalLm lm = CausalLm.load(dir)) {
            evaluate(lm, d, j, true);
        }
    }

    /** SI-LoRA's φ chosen on validation for this seed ({@link Report#chosenPhi}); recorded in {@code j}. */
    private double chosenPhi(Unit u, Map<String, JsonNode> done, ObjectNode j) {
        j.put("phi_from", "si_lora's choice on validation");
        return plan.phiGrid().get(Report.chosenPhi(plan, u.model(), u.domain(), u.seed(), done));
    }

    /** The domain rows plus general rows making up {@code fraction} of the mixed set, drawn with the seed. */
    private static List<int[]> replayRows(Data d, double fraction, long seed) {
        int n = (int) Math.round(fraction / (1 - fraction) * d.muRows.size());
        if (n > d.replayPool.size()) {
            throw new IllegalArgumentException("replay fraction " + fraction + " needs " + n + " general rows, the pool has " + d.replayPool.size());
        }
        List<int[]> pool = new ArrayList<>(d.replayPool);
        Collections.shuffle(pool, new Random(seed));
        List<int[]> rows = new ArrayList<>(d.muRows);
        rows.addAll(pool.subList(0, n));
        return rows;
    }

    private static Map<String, INDArray[]> factors(LoraModel m) {
        Map<String, INDArray[]> f = new LinkedHashMap<>();
        m.modules().forEach((k, v) -> f.put(k, new INDArray[]{v.a().getArr().dup(), v.b().getArr().dup()}));
        return f;
    }

    /** Methods whose validation figures choose a coefficient or serve as the unregularised reference. */
    private static final java.util.Set<String> VALIDATED = java.util.Set.of("lora_mu", "lora_nu_mu", "ewc_lora", "si_lora", "replay", "si_budget");

    /** General PPL and mean NLL, domain PPL, quiz acc/acc_norm; with {@code validation} also validation acc and general PPL. */
    private void evaluate(CausalLm lm, Data d, ObjectNode j, boolean validation) {
        Perplexity.Result g = Perplexity.evaluate(lm, d.heldOutIds, plan.seqLen(), plan.seqLen(), plan.batchSize());
        j.put("general_ppl", g.ppl());
        j.put("general_nll", g.meanNll());
        j.put("domain_ppl", Perplexity.evaluate(lm, d.domainIds, plan.seqLen(), plan.seqLen(), plan.batchSize()).ppl());
        MultipleChoiceScorer sc = new MultipleChoiceScorer(lm, d.tok, new MultipleChoiceScorer.Options(32, false, 0));
        MultipleChoiceScorer.Result q = sc.score(d.quiz, MultipleChoiceScorer.Progress.NONE);
        j.put("domain_acc", q.accNorm());
        j.put("domain_acc_raw", q.acc());
        if (!validation) return;
        MultipleChoiceScorer.Result v = sc.score(d.valid, MultipleChoiceScorer.Progress.NONE);
        j.put("valid_acc", v.accNorm());
        j.put("valid_general_ppl", Perplexity.evaluate(lm, d.validIds, plan.seqLen(), plan.seqLen(), plan.batchSize()).ppl());
    }

    private static int[] head(int[] ids, int n) {
        return ids.length > n ? Arrays.copyOf(ids, n) : ids;
    }
}
