package org.silora.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.cli.ProgressBar;
import org.silora.eval.Loaders;
import org.silora.eval.MultipleChoiceItem;
import org.silora.eval.MultipleChoiceScorer;
import org.silora.eval.Perplexity;
import org.silora.ewc.FisherEstimator;
import org.silora.ewc.FisherInformation;
import org.silora.hf.graph.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.ModelFingerprint;
import org.silora.io.PeftAdapters;
import org.silora.io.TextDocuments;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;
import org.silora.lora.TrainingResult;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.QuadraticPenalty;
import org.silora.si.SiMode;
import org.silora.si.SiRecorder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The paper's experiment end to end on the shipped data and tiny models: phase ν (LoRA on Brown with SI
 * recording), then every method of SPEC §2 on a WordNet domain with the same budget, evaluated for general
 * perplexity (held-out Brown) and domain accuracy (held-out multiple choice); φ for SI-LoRA is chosen on
 * validation data (domain valid items and Brown text outside ν's rows), never on the test sets.
 *
 * <pre>{@code
 * Experiment.Outcome o = Experiment.run(Experiment.Plan.quick(), Path.of("silora-out/demo"), System.err);
 * }</pre>
 */
public final class Experiment {

    /** Methods in report order, with SPEC §4's names. */
    public static final List<String> METHODS = List.of("base", "lora_mu", "lora_nu_mu", "rslora", "ewc_lora", "si_lora", "si_lora_no_layer");

    /**
     * What to run.
     *
     * @param models        shipped model names
     * @param domains       {@code medical}, {@code science}
     * @param seqLen        tokens per training row and perplexity window
     * @param batchSize     rows per batch
     * @param nuRows        Brown rows of phase ν
     * @param nuEpochs      epochs of phase ν
     * @param muRows        domain rows of phase μ (every method)
     * @param muEpochs      epochs of phase μ (every method)
     * @param lr            Adam learning rate (both phases)
     * @param r             LoRA rank
     * @param alpha         LoRA alpha
     * @param phiGrid       φ candidates for SI-LoRA, chosen on validation
     * @param ewcGrid       λ candidates for EWC-LoRA, chosen on validation the same way
     * @param tau           layer-weight temperature ("auto", "1", ...)
     * @param pplTokens     held-out Brown tokens for perplexity
     * @param testItems     test multiple-choice items (0: all)
     * @param validItems    validation items for choosing φ
     * @param fisherSamples general samples for the EWC Fisher
     * @param muFocus       train phase μ on the domain lines that state the quizzed facts only (a small budget covers them
     *                      several times) instead of the whole domain text
     * @param seed          seed of everything
     */
    public record Plan(List<String> models, List<String> domains, int seqLen, int batchSize, int nuRows, int nuEpochs,
                       int muRows, int muEpochs, double lr, int r, double alpha, double[] phiGrid, double[] ewcGrid, String tau,
                       int pplTokens, int testItems, int validItems, int fisherSamples, boolean muFocus, long seed) {

        /** A few minutes on 2 cores: LLaMA on the medical domain. */
        public static Plan quick() {
            return new Plan(List.of("tiny-llama"), List.of("medical"), 64, 16, 512, 1, 384, 6, 3e-3, 8, 32,
                    new double[]{1e-3, 1e-1}, new double[]{0.5, 1e4}, "auto", 12_000, 200, 100, 256, true, 42);
        }

        /** Both architectures and both domains, more ν data and Fisher samples (about 35 minutes on 2 cores). */
        public static Plan full() {
            return new Plan(List.of("tiny-llama", "tiny-gptj"), List.of("medical", "science"), 64, 16, 1024, 1, 512, 4,
                    3e-3, 8, 32, new double[]{1e-1, 1}, new double[]{1e2, 1e4}, "auto", 16_000, 200, 150, 512, true, 42);
        }
    }

    /** One method's figures on one model and domain. */
    public record MethodResult(String model, String domain, String method, double generalPpl, double domainAcc,
                               double domainAccNorm, double heldOutAcc, double trainSeconds, Double phi) {
    }

    /** Everything the report shows. */
    public record Outcome(List<MethodResult> results, ObjectNode json, String markdown) {
    }

    private Experiment() {
    }

    public static Outcome run(Plan plan, Path out, PrintStream log) throws IOException {
        Files.createDirectories(out);
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        ArrayNode methods = root.putArray("methods");
        ArrayNode runs = root.putArray("runs");
        List<MethodResult> all = new ArrayList<>();
        Path data = out.resolve("data");
        List<String> general = TextDocuments.read(ShippedModels.data("brown-train.jsonl", data));
        List<String> heldOut = TextDocuments.read(ShippedModels.data("brown-heldout.jsonl", data));
        // Brown documents after the ν rows' source serve as general validation text for choosing φ
        int split = (int) (general.size() * 0.9);
        List<String> nuDocs = general.subList(0, split);
        List<String> generalValid = general.subList(split, general.size());
        StringBuilder md = new StringBuilder();
        for (String modelName : plan.models()) {
            Path model = ShippedModels.extract(modelName, out.resolve("models"));
            for (String domain : plan.domains()) {
                log.printf(Locale.ROOT, "=== %s on %s ===%n", modelName, domain);
                Run run = new Run(plan, model, modelName, domain, out.resolve(modelName + "-" + domain), log);
                run.prepare(nuDocs, generalValid, heldOut, data);
                List<MethodResult> rs = run.execute();
                all.addAll(rs);
                for (MethodResult r : rs) {
                    ObjectNode m = methods.addObject();
                    m.put("method", r.method());
                    m.put("general_ppl", r.generalPpl());
                    m.put("domain_acc", r.domainAcc());
                    m.put("domain_acc_norm", r.domainAccNorm());
                    m.put("domain_acc_heldout", r.heldOutAcc());
                    m.put("model", r.model());
                    m.put("domain", r.domain());
                    m.put("train_seconds", r.trainSeconds());
                    if (r.phi() != null) m.put("phi", r.phi());
                }
                runs.add(run.details);
                md.append(table(modelName, domain, rs, run.details));
                run.plots(out);
            }
        }
        ObjectNode p = root.putObject("plan");
        p.put("seq_len", plan.seqLen());
        p.put("batch_size", plan.batchSize());
        p.put("nu_rows", plan.nuRows());
        p.put("nu_epochs", plan.nuEpochs());
        p.put("mu_rows", plan.muRows());
        p.put("mu_epochs", plan.muEpochs());
        p.put("lr", plan.lr());
        p.put("r", plan.r());
        p.put("lora_alpha", plan.alpha());
        p.put("tau", plan.tau());
        p.put("phi_grid", Arrays.toString(plan.phiGrid()));
        p.put("ewc_lambda_grid", Arrays.toString(plan.ewcGrid()));
        p.put("seed", plan.seed());
        Files.writeString(out.resolve("results.json"), om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        return new Outcome(all, root, md.toString());
    }

    /** The layer-weight summary every report of a phase-ν importance carries: τ, λ's entropy, λ and ‖Ω_l‖ per module. */
    public static void describe(Importance imp, ObjectNode into) {
        into.put("tau", imp.metadata().get("tau"));
        into.put("tau_used", imp.metadata().get("tau_used"));
        into.put("lambda_entropy", Double.parseDouble(imp.metadata().get("lambda_entropy")));
        into.put("lambda_entropy_max", Double.parseDouble(imp.metadata().get("lambda_entropy_max")));
        ObjectNode lam = into.putObject("lambda");
        imp.lambdas().forEach(lam::put);
        ObjectNode norms = into.putObject("omega_norm");
        imp.norms().forEach(norms::put);
    }

    static String table(String model, String domain, List<MethodResult> rs, ObjectNode details) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%n**%s, %s domain**%n%n", model, domain));
        sb.append("| method | general PPL ↓ | domain acc ↑ | acc_norm | held-out definitions acc | φ |\n|---|---:|---:|---:|---:|---:|\n");
        for (MethodResult r : rs) {
            sb.append(String.format(Locale.ROOT, "| %s | %.2f | %.1f %% | %.1f %% | %.1f %% | %s |%n", r.method(), r.generalPpl(),
                    100 * r.domainAcc(), 100 * r.domainAccNorm(), 100 * r.heldOutAcc(),
                    r.phi() == null ? "" : String.format(Locale.ROOT, "%g", r.phi())));
        }
        return sb.toString();
    }

    /** One model × domain. */
    private static final class Run {
        final Plan plan;
        final Path model;
        final String modelName;
        final String domain;
        final Path dir;
        final PrintStream log;
        final ObjectNode details = new ObjectMapper().createObjectNode();
        HfTokenizer tok;
        List<int[]> nuRows;
        List<int[]> muRows;
        int[] heldOutIds;
        int[] validIds;
        List<MultipleChoiceItem> known;
        List<MultipleChoiceItem> test;
        List<MultipleChoiceItem> valid;
        Importance importance;
        Map<String, double[][]> curves = new LinkedHashMap<>();
        List<MethodResult> results = new ArrayList<>();
        String fingerprint;

        Run(Plan plan, Path model, String modelName, String domain, Path dir, PrintStream log) {
            this.plan = plan;
            this.model = model;
            this.modelName = modelName;
            this.domain = domain;
            this.dir = dir;
            this.log = log;
        }

        void prepare(List<String> nuDocs, List<String> generalValid, List<String> heldOut, Path data) throws IOException {
            tok = HfTokenizer.load(model);
            fingerprint = ModelFingerprint.of(model);
            nuRows = limit(TextDocuments.windows(nuDocs, tok, plan.seqLen()), plan.nuRows());
            List<String> domainDocs = TextDocuments.read(ShippedModels.data(domain + "-train.jsonl", data));
            known = Loaders.load("sciq", ShippedModels.data(domain + "-known.jsonl", data), false).items();
            if (plan.testItems() > 0 && known.size() > plan.testItems()) known = known.subList(0, plan.testItems());
            valid = Loaders.load("sciq", ShippedModels.data(domain + "-valid.jsonl", data), false).items();
            if (valid.size() > plan.validItems()) valid = valid.subList(0, plan.validItems());
            if (plan.muFocus()) {
                // the domain lines that state the facts asked about (known and validation items), so that a small
                // budget covers them several times; the rest of the domain text is left out
                java.util.Set<String> defs = new java.util.HashSet<>();
                for (List<MultipleChoiceItem> items : List.of(known, valid)) {
                    for (MultipleChoiceItem it : items) defs.add(definitionOf(it.context()));
                }
                domainDocs = domainDocs.stream().filter(d -> defs.stream().anyMatch(def -> d.contains(": " + def))).toList();
            }
            muRows = limit(TextDocuments.windows(domainDocs, tok, plan.seqLen()), plan.muRows());
            heldOutIds = head(Perplexity.tokens(heldOut, tok), plan.pplTokens());
            validIds = head(Perplexity.tokens(generalValid, tok), plan.pplTokens() / 2);
            test = Loaders.load("sciq", ShippedModels.data(domain + "-test.jsonl", data), false).items();
            if (plan.testItems() > 0 && test.size() > plan.testItems()) test = test.subList(0, plan.testItems());
            details.put("model", modelName);
            details.put("domain", domain);
            details.put("nu_rows", nuRows.size());
            details.put("mu_rows", muRows.size());
            details.put("mu_focus", plan.muFocus());
            details.put("heldout_tokens", heldOutIds.length);
            details.put("known_items", known.size());
            details.put("heldout_items", test.size());
            details.put("valid_items", valid.size());
        }

        List<MethodResult> execute() throws IOException {
            TrainingOptions nuOpts = TrainingOptions.builder().learningRate(plan.lr()).batchSize(plan.batchSize())
                    .epochs(plan.nuEpochs()).seed(plan.seed()).build();
            TrainingOptions muOpts = TrainingOptions.builder().learningRate(plan.lr()).batchSize(plan.batchSize())
                    .epochs(plan.muEpochs()).seed(plan.seed()).build();
            LoraConfig lora = LoraConfig.builder().r(plan.r()).loraAlpha(plan.alpha()).baseModelNameOrPath(modelName).build();

            // base
            double[] b;
            try (CausalLm base = CausalLm.load(model)) {
                b = evaluate(base, "base");
            }
            results.add(new MethodResult(modelName, domain, "base", b[0], b[1], b[2], b[3], 0, null));

            // phase ν with SI recording
            LoraModel nu = LoraModel.create(model, lora, plan.seed());
            LoraTrainer nuTrainer = new LoraTrainer(nu, nuOpts);
            SiRecorder si = SiRecorder.builder(nu).mode(SiMode.PAPER).build();
            nuTrainer.addListener(si);
            double before = nuTrainer.meanLoss(nuRows);
            TrainingResult nuRun = train(nuTrainer, nuRows, "nu (SI recording)");
            double after = nuTrainer.meanLoss(nuRows);
            double omegaSum = si.omegaSum();
            Map<String, String> prov = Importance.provenance(modelName, fingerprint, nu, nuRun.tokens(),
                    "brown-train.jsonl (" + nuRows.size() + " rows x " + (plan.seqLen() + 1) + " tokens)");
            importance = si.consolidate(LayerWeighting.parse(plan.tau()), prov);
            nu.lm().close();
            Files.createDirectories(dir);
            PeftAdapters.save(lora, nu.modules(), dir.resolve("nu"), Map.of("silora.phase", "nu"));
            importance.save(dir.resolve("nu").resolve("importance.safetensors"), DType.F32);
            ObjectNode nuJson = details.putObject("nu");
            nuJson.put("omega_sum", omegaSum);
            nuJson.put("loss_drop", before - after);
            nuJson.put("steps", nuRun.steps());
            nuJson.put("seconds", nuRun.seconds());
            describe(importance, nuJson);
            log.printf(Locale.ROOT, "nu: loss %.3f -> %.3f, sum(omega) %.4f, lambda entropy %.3f of %.3f (tau %s = %s)%n",
                    before, after, omegaSum, Double.parseDouble(importance.metadata().get("lambda_entropy")),
                    Double.parseDouble(importance.metadata().get("lambda_entropy_max")), importance.metadata().get("tau"),
                    importance.metadata().get("tau_used"));

            // EWC Fisher over general samples (timed against ν with SI recording over the same samples)
            List<int[]> fisherRows = limit(nuRows, plan.fisherSamples());
            FisherInformation fisher;
            try (ProgressBar bar = new ProgressBar("fisher", fisherRows.size()); FisherEstimator fe = FisherEstimator.of(model)) {
                fisher = fe.compute(fisherRows, plan.batchSize(), (d, t) -> bar.update(d, t, ""));
            }
            ObjectNode fj = details.putObject("fisher");
            fj.put("samples", fisherRows.size());
            fj.put("seconds", Double.parseDouble(fisher.metadata().getOrDefault("seconds", "NaN")));
            fj.put("bytes_f32", fisher.valueBytes(DType.F32));
            fj.put("omega_bytes_f32", importance.omegaBytes(DType.F32));

            // phase μ: every method, the same budget; EWC's λ and SI's φ are chosen on validation
            Candidate loraMu = trainCandidate("lora_mu", LoraModel.create(model, lora, plan.seed()), muOpts, null, null);
            Candidate loraNuMu = trainCandidate("lora_nu_mu", importance.continueFrom(model), muOpts, null, null);
            Candidate rslora = trainCandidate("rslora", LoraModel.create(model, lora.toBuilder().useRslora(true).build(), plan.seed()),
                    muOpts, null, null);
            List<Candidate> ewcs = new ArrayList<>();
            for (double l : plan.ewcGrid()) {
                LoraModel m = LoraModel.create(model, lora, plan.seed());
                ewcs.add(trainCandidate(String.format(Locale.ROOT, "ewc_lora lambda %.0e", l), m, muOpts, fisher.penalty(m, l), l));
            }
            List<Candidate> sis = new ArrayList<>();
            for (double phi : plan.phiGrid()) {
                LoraModel m = importance.continueFrom(model);
                sis.add(trainCandidate(String.format(Locale.ROOT, "si_lora phi %.0e", phi), m, muOpts, QuadraticPenalty.si(m, importance, phi), phi));
            }
            Candidate ewc = choose("ewc_lora", ewcs, loraMu);
            Candidate siBest = choose("si_lora", sis, loraNuMu);
            LoraModel nl = importance.continueFrom(model);
            Candidate noLayer = trainCandidate("si_lora_no_layer", nl, muOpts,
                    QuadraticPenalty.si(nl, importance.withWeighting(LayerWeighting.UNIFORM), siBest.coefficient), siBest.coefficient);

            for (Object[] mc : new Object[][]{{"lora_mu", loraMu}, {"lora_nu_mu", loraNuMu}, {"rslora", rslora},
                    {"ewc_lora", ewc}, {"si_lora", siBest}, {"si_lora_no_layer", noLayer}}) {
                String name = (String) mc[0];
                Candidate c = (Candidate) mc[1];
                LoraModel m = LoraModel.withFactors(model, c.config, c.factors);
                double[] e = evaluate(m.lm(), name);
                results.add(new MethodResult(modelName, domain, name, e[0], e[1], e[2], e[3], c.seconds, c.coefficient));
                curves.put(name, c.curves);
                PeftAdapters.save(m.config(), m.modules(), dir.resolve(name), Map.of("silora.phase", "mu", "silora.method", name));
                m.lm().close();
            }
            return results;
        }

        /** A trained phase-μ adapter and its validation figures. */
        private static final class Candidate {
            LoraConfig config;
            Map<String, INDArray[]> factors;
            Double coefficient;
            double validAcc;
            double validPpl;
            double seconds;
            double[][] curves;
        }

        Candidate trainCandidate(String label, LoraModel m, TrainingOptions opts, org.silora.lora.Penalty penalty,
                                 Double coefficient) {
            LoraTrainer t = new LoraTrainer(m, opts);
            if (penalty != null) t.setPenalty(penalty);
            TrainingResult r = train(t, muRows, label);
            Candidate c = new Candidate();
            c.config = m.config();
            c.factors = new LinkedHashMap<>();
            m.modules().forEach((k, v) -> c.factors.put(k, new INDArray[]{v.a().getArr().dup(), v.b().getArr().dup()}));
            c.coefficient = coefficient;
            c.seconds = r.seconds();
            c.curves = new double[][]{r.stepLosses().stream().mapToDouble(Double::doubleValue).toArray(),
                    r.stepPenalties().stream().mapToDouble(Double::doubleValue).toArray()};
            c.validAcc = score(m.lm(), valid).acc();
            c.validPpl = Perplexity.evaluate(m.lm(), validIds, plan.seqLen(), plan.seqLen(), plan.batchSize()).ppl();
            log.printf(Locale.ROOT, "%s: validation acc %.1f %%, general validation PPL %.2f%n", label, 100 * c.validAcc, c.validPpl);
            m.lm().close();
            return c;
        }

        /**
         * The coefficient whose run keeps the most general ability (lowest general-validation PPL) among those whose
         * domain-validation accuracy stays within 2 points of the unregularised reference; the grid's first if none.
         */
        Candidate choose(String method, List<Candidate> cands, Candidate reference) {
            ArrayNode tuning = details.putArray(method + "_tuning");
            ObjectNode rj = tuning.addObject();
            rj.put("coefficient", 0.0);
            rj.put("valid_acc", reference.validAcc);
            rj.put("valid_general_ppl", reference.validPpl);
            Candidate best = null;
            for (Candidate c : cands) {
                boolean ok = c.validAcc >= reference.validAcc - 0.02;
                ObjectNode j = tuning.addObject();
                j.put("coefficient", c.coefficient);
                j.put("valid_acc", c.validAcc);
                j.put("valid_general_ppl", c.validPpl);
                j.put("within_2_points", ok);
                if (ok && (best == null || c.validPpl < best.validPpl)) best = c;
            }
            if (best == null) best = cands.get(0);
            details.put(method + "_chosen", best.coefficient);
            details.put("tuning_rule", "lowest general-validation PPL among coefficients whose domain-validation accuracy is within "
                    + "2 points of the unregularised run (LoRA(nu+mu) for SI, LoRA(mu) for EWC); the grid's first if none");
            return best;
        }

        TrainingResult train(LoraTrainer t, List<int[]> rows, String label) {
            try (ProgressBar bar = new ProgressBar(label, 0)) {
                return t.train(rows, (s, total, loss) -> bar.update(s, total, String.format(Locale.ROOT, "loss %.3f", loss)));
            }
        }

        MultipleChoiceScorer.Result score(CausalLm lm, List<MultipleChoiceItem> items) {
            return new MultipleChoiceScorer(lm, tok, MultipleChoiceScorer.Options.defaults()).score(items, MultipleChoiceScorer.Progress.NONE);
        }

        double[] evaluate(CausalLm lm, String label) {
            double ppl = Perplexity.evaluate(lm, heldOutIds, plan.seqLen(), plan.seqLen(), plan.batchSize()).ppl();
            MultipleChoiceScorer.Result acc;
            MultipleChoiceScorer.Result held;
            try (ProgressBar bar = new ProgressBar("eval " + label, known.size() + test.size())) {
                MultipleChoiceScorer scorer = new MultipleChoiceScorer(lm, tok, MultipleChoiceScorer.Options.defaults());
                acc = scorer.score(known, (d, t) -> bar.update(d / 4, known.size() + test.size(), ""));
                held = scorer.score(test, (d, t) -> bar.update(known.size() + d / 4, known.size() + test.size(), ""));
            }
            log.printf(Locale.ROOT, "%s: general PPL %.2f, domain acc %.1f %% (acc_norm %.1f %%), held-out definitions %.1f %%%n",
                    label, ppl, 100 * acc.acc(), 100 * acc.accNorm(), 100 * held.acc());
            return new double[]{ppl, acc.acc(), acc.accNorm(), held.acc()};
        }

        void plots(Path out) throws IOException {
            String tag = modelName + "-" + domain;
            // Fig. 4: task loss and scaled penalty over μ steps
            List<Plots.Series> s = new ArrayList<>();
            for (String m : List.of("si_lora", "si_lora_no_layer", "lora_nu_mu")) {
                double[][] c = curves.get(m);
                if (c == null) continue;
                double[] x = new double[c[0].length];
                for (int i = 0; i < x.length; i++) x[i] = i + 1;
                s.add(new Plots.Series(m + " task loss", x, c[0]));
                if (!m.equals("lora_nu_mu")) s.add(new Plots.Series(m + " penalty", x, c[1]));
            }
            Plots.lines(out.resolve("fig4_loss_vs_penalty_" + tag + ".png"), "Phase mu: task loss and phi-scaled penalty (" + tag + ")",
                    "optimizer step", "value", s, true);
            // Fig. 7: log10 ||Omega_l|| over layers for each target kind
            Map<String, Double> norms = importance.norms();
            List<String> kinds = new ArrayList<>();
            List<Integer> layers = new ArrayList<>();
            for (String n : norms.keySet()) {
                String kind = n.substring(n.lastIndexOf('.') + 1);
                if (!kinds.contains(kind)) kinds.add(kind);
                int layer = layerOf(n);
                if (!layers.contains(layer)) layers.add(layer);
            }
            double[][] v = new double[layers.size()][kinds.size()];
            for (double[] row : v) Arrays.fill(row, Double.NaN);
            for (Map.Entry<String, Double> e : norms.entrySet()) {
                String kind = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
                v[layers.indexOf(layerOf(e.getKey()))][kinds.indexOf(kind)] = Math.log10(Math.max(e.getValue(), 1e-30));
            }
            String[] rowNames = layers.stream().map(l -> "layer " + l).toArray(String[]::new);
            Plots.heatmap(out.resolve("fig7_omega_norm_heatmap_" + tag + ".png"), "log10 ||Omega_l|| after phase nu (" + tag + ")",
                    rowNames, kinds.toArray(String[]::new), v, "log10 norm");
            // PPL vs accuracy
            List<Plots.Point> pts = new ArrayList<>();
            for (MethodResult r : results) pts.add(new Plots.Point(r.method(), r.generalPpl(), 100 * r.domainAcc()));
            Plots.scatter(out.resolve("ppl_vs_acc_" + tag + ".png"), "General PPL vs domain accuracy (" + tag + ")",
                    "general perplexity (lower is better)", "domain accuracy % (higher is better)", pts);
        }

        private static int layerOf(String module) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\.(\\d+)\\.").matcher(module);
            return m.find() ? Integer.parseInt(m.group(1)) : -1;
        }

        /** The definition inside a known-quiz prompt ("...Which term matches this definition: D?\nAnswer:"). */
        private static String definitionOf(String context) {
            String key = "Which term matches this definition: ";
            int i = context.indexOf(key);
            int j = context.lastIndexOf("?");
            return i >= 0 && j > i ? context.substring(i + key.length(), j) : context;
        }

        private static List<int[]> limit(List<int[]> rows, int n) {
            return n > 0 && rows.size() > n ? new ArrayList<>(rows.subList(0, n)) : rows;
        }

        private static int[] head(int[] ids, int n) {
            return ids.length > n ? Arrays.copyOf(ids, n) : ids;
        }
    }
}
