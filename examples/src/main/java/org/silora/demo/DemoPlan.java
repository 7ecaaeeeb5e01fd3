package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What the demo runs: models × domains, seeds, the budgets of both phases and each method's knob values. Built from
 * a named preset ({@link #quick()}, {@link #full()}) and changed through its {@link Builder}, one named setter per
 * component (the canonical constructor is for the builder only: 22 positional values are easy to swap unnoticed);
 * stored as {@code plan.json} for the worker processes.
 *
 * <pre>{@code
 * DemoPlan p = DemoPlan.quick();                       // tiny-llama × medical, 3 seeds, ~15 min on 2 cores
 * DemoPlan t = DemoPlan.quick().toBuilder().seeds(List.of(1L, 2L)).workers(0).nuRows(24).muRows(12).build();
 * }</pre>
 *
 * @param models         shipped model names
 * @param domains        {@code medical}, {@code science}
 * @param seeds          one full repetition per seed (data order and LoRA initialisation)
 * @param workers        worker processes (each single-threaded); 0 runs every unit in this JVM
 * @param targets        LoRA target modules (peft names)
 * @param r              LoRA rank
 * @param alpha          LoRA alpha
 * @param seqLen         tokens per training row and perplexity window
 * @param batchSize      rows per optimizer step
 * @param lr             Adam learning rate (both phases)
 * @param nuRows         Brown rows of phase ν (0: all)
 * @param nuEpochs       epochs of phase ν
 * @param muEpochs       epochs of phase μ (every method)
 * @param muRows         domain training rows of phase μ (0: all of {@code <domain>-kind-train.jsonl})
 * @param earlyPoints    evaluations of LoRA(μ) after these fractions of its steps: the {@code lora_mu_early} front
 * @param phiGrid        φ of SI-LoRA (a front; the value used for si_lora's row is chosen on validation)
 * @param ewcGrid        λ of EWC-LoRA (likewise)
 * @param replayFractions share of general rows in the μ training set of {@code replay}
 * @param tau            SI-LoRA's layer-weight temperature (SPEC recipe)
 * @param fisherSamples  general rows for EWC's Fisher
 * @param pplTokens      held-out Brown tokens for general perplexity and Δ loss
 * @param quizItems      quiz items (0: all of {@code <domain>-kind-quiz.jsonl})
 * @param budgets        general-loss budgets (nats) of {@code si_budget}, which adapts φ during phase μ (issue 18)
 * @param budgetEvery    optimizer steps between the budget's probe measurements
 * @param dialStrengths  strengths of {@code si_dial}: the importance dial on LoRA(ν+μ)'s adapter, evaluation only
 * @param uniformAlphas  α of {@code wise_ft}: the uniform rescale of LoRA(ν+μ)'s change, evaluation only
 */
public record DemoPlan(List<String> models, List<String> domains, List<Long> seeds, int workers, List<String> targets, int r,
                       double alpha, int seqLen, int batchSize, double lr, int nuRows, int nuEpochs, int muEpochs, int muRows,
                       List<Double> earlyPoints, List<Double> phiGrid, List<Double> ewcGrid, List<Double> replayFractions,
                       String tau, int fisherSamples, int pplTokens, int quizItems, List<Double> budgets, int budgetEvery,
                       List<Double> dialStrengths, List<Double> uniformAlphas) {

    /** peft's {@code all-linear} for the LLaMA and GPT-J families: every linear layer of the blocks, not lm_head. */
    public static final List<String> ALL_LINEAR = List.of("q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "gate_proj",
            "up_proj", "down_proj", "fc_in", "fc_out");

    public DemoPlan {
        models = List.copyOf(models);
        domains = List.copyOf(domains);
        seeds = List.copyOf(seeds);
        targets = List.copyOf(targets);
        earlyPoints = List.copyOf(earlyPoints);
        phiGrid = List.copyOf(phiGrid);
        ewcGrid = List.copyOf(ewcGrid);
        replayFractions = List.copyOf(replayFractions);
        budgets = List.copyOf(budgets);
        dialStrengths = List.copyOf(dialStrengths);
        uniformAlphas = List.copyOf(uniformAlphas);
        Objects.requireNonNull(tau, "tau");
        if (models.isEmpty() || domains.isEmpty()) throw new IllegalArgumentException("no model or no domain");
        for (String m : models) {
            if (!ShippedModels.MODELS.contains(m)) throw new IllegalArgumentException("unknown shipped model '" + m + "'");
        }
        for (String d : domains) {
            if (!d.equals("medical") && !d.equals("science")) throw new IllegalArgumentException("unknown domain '" + d + "'");
        }
        if (seeds.isEmpty() || seeds.stream().distinct().count() != seeds.size()) throw new IllegalArgumentException("seeds must be distinct and not empty");
        if (workers < 0 || r < 1 || !(alpha > 0) || seqLen < 2 || batchSize < 1 || !(lr > 0) || nuRows < 0 || nuEpochs < 1
                || muEpochs < 1 || muRows < 0 || fisherSamples < 1 || pplTokens < seqLen || quizItems < 0) {
            throw new IllegalArgumentException("plan out of range: " + this);
        }
        for (double f : earlyPoints) if (!(f > 0 && f < 1)) throw new IllegalArgumentException("early points are fractions in (0, 1): " + f);
        for (double f : replayFractions) if (!(f > 0 && f < 1)) throw new IllegalArgumentException("replay fractions are in (0, 1): " + f);
        for (double v : phiGrid) if (!(v > 0)) throw new IllegalArgumentException("phi must be positive: " + v);
        for (double v : ewcGrid) if (!(v > 0)) throw new IllegalArgumentException("EWC lambda must be positive: " + v);
        if (phiGrid.isEmpty() || ewcGrid.isEmpty()) throw new IllegalArgumentException("empty phi or lambda grid");
        for (double v : budgets) if (!Double.isFinite(v)) throw new IllegalArgumentException("budgets are finite numbers of nats: " + v);
        for (double v : dialStrengths) if (!(v > 0) || Double.isInfinite(v)) throw new IllegalArgumentException("dial strengths must be > 0: " + v);
        for (double v : uniformAlphas) if (!(v >= 0 && v < 1)) throw new IllegalArgumentException("uniform alphas are in [0, 1): " + v);
        if (budgetEvery < 1) throw new IllegalArgumentException("budgetEvery must be >= 1: " + budgetEvery);
    }

    /** LLaMA on the medical domain, 3 seeds, every method and front: about 15 minutes on 2 cores. */
    public static DemoPlan quick() {
        return new Builder().build();
    }

    /** Both architectures on both domains with the quick budget each: about four times as long. */
    public static DemoPlan full() {
        return quick().toBuilder().models(List.of("tiny-llama", "tiny-gptj")).domains(List.of("medical", "science")).build();
    }

    /** A copy of this plan to change. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.models = models;
        b.domains = domains;
        b.seeds = seeds;
        b.workers = workers;
        b.targets = targets;
        b.r = r;
        b.alpha = alpha;
        b.seqLen = seqLen;
        b.batchSize = batchSize;
        b.lr = lr;
        b.nuRows = nuRows;
        b.nuEpochs = nuEpochs;
        b.muEpochs = muEpochs;
        b.muRows = muRows;
        b.earlyPoints = earlyPoints;
        b.phiGrid = phiGrid;
        b.ewcGrid = ewcGrid;
        b.replayFractions = replayFractions;
        b.tau = tau;
        b.fisherSamples = fisherSamples;
        b.pplTokens = pplTokens;
        b.quizItems = quizItems;
        b.budgets = budgets;
        b.budgetEvery = budgetEvery;
        b.dialStrengths = dialStrengths;
        b.uniformAlphas = uniformAlphas;
        return b;
    }

    /** Named settings, starting from the quick preset; {@link #build()} validates. */
    public static final class Builder {
        private List<String> models = List.of("tiny-llama");
        private List<String> domains = List.of("medical");
        private List<Long> seeds = List.of(1L, 2L, 3L);
        private int workers = 2;
        private List<String> targets = ALL_LINEAR;
        private int r = 16;
        private double alpha = 32;
        private int seqLen = 64;
        private int batchSize = 16;
        private double lr = 8e-3;
        private int nuRows = 192;
        private int nuEpochs = 2;
        private int muEpochs = 2;
        private int muRows = 0;
        private List<Double> earlyPoints = List.of(1 / 3.0, 2 / 3.0);
        private List<Double> phiGrid = List.of(1e-2, 1e-1, 1.0);
        private List<Double> ewcGrid = List.of(1e3, 1e4, 1e5);
        private List<Double> replayFractions = List.of(0.1, 0.2, 0.3);
        private String tau = "auto";
        private int fisherSamples = 96;
        private int pplTokens = 3_000;
        private int quizItems = 0;
        private List<Double> budgets = List.of(0.3, 0.6);
        private int budgetEvery = 5;
        private List<Double> dialStrengths = List.of(1.0, 3.0, 10.0, 30.0, 100.0);
        private List<Double> uniformAlphas = List.of(0.8, 0.6, 0.4, 0.2, 0.1);

        /** Shipped model names. */
        public Builder models(List<String> v) {
            models = v;
            return this;
        }

        /** Domains: {@code medical}, {@code science}. */
        public Builder domains(List<String> v) {
            domains = v;
            return this;
        }

        /** One full repetition per seed. */
        public Builder seeds(List<Long> v) {
            seeds = v;
            return this;
        }

        /** Worker processes; 0 runs every unit in this JVM. */
        public Builder workers(int v) {
            workers = v;
            return this;
        }

        /** LoRA target modules (peft names). */
        public Builder targets(List<String> v) {
            targets = v;
            return this;
        }

        /** LoRA rank. */
        public Builder r(int v) {
            r = v;
            return this;
        }

        /** LoRA alpha. */
        public Builder alpha(double v) {
            alpha = v;
            return this;
        }

        /** Tokens per training row and perplexity window. */
        public Builder seqLen(int v) {
            seqLen = v;
            return this;
        }

        /** Rows per optimizer step. */
        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        /** Adam learning rate (both phases). */
        public Builder lr(double v) {
            lr = v;
            return this;
        }

        /** Brown rows of phase ν (0: all). */
        public Builder nuRows(int v) {
            nuRows = v;
            return this;
        }

        /** Epochs of phase ν. */
        public Builder nuEpochs(int v) {
            nuEpochs = v;
            return this;
        }

        /** Epochs of phase μ. */
        public Builder muEpochs(int v) {
            muEpochs = v;
            return this;
        }

        /** Domain training rows of phase μ (0: all). */
        public Builder muRows(int v) {
            muRows = v;
            return this;
        }

        /** Fractions of LoRA(μ)'s steps after which it is evaluated. */
        public Builder earlyPoints(List<Double> v) {
            earlyPoints = v;
            return this;
        }

        /** Φ values of SI-LoRA's sweep. */
        public Builder phiGrid(List<Double> v) {
            phiGrid = v;
            return this;
        }

        /** Λ values of EWC-LoRA's sweep. */
        public Builder ewcGrid(List<Double> v) {
            ewcGrid = v;
            return this;
        }

        /** General-row shares of replay's sweep. */
        public Builder replayFractions(List<Double> v) {
            replayFractions = v;
            return this;
        }

        /** SI-LoRA's layer-weight temperature. */
        public Builder tau(String v) {
            tau = v;
            return this;
        }

        /** General rows for EWC's Fisher. */
        public Builder fisherSamples(int v) {
            fisherSamples = v;
            return this;
        }

        /** Held-out Brown tokens for general perplexity. */
        public Builder pplTokens(int v) {
            pplTokens = v;
            return this;
        }

        /** Quiz items (0: all). */
        public Builder quizItems(int v) {
            quizItems = v;
            return this;
        }

        /** General-loss budgets (nats) of {@code si_budget}. */
        public Builder budgets(List<Double> v) {
            budgets = v;
            return this;
        }

        /** Optimizer steps between the budget's probe measurements. */
        public Builder budgetEvery(int v) {
            budgetEvery = v;
            return this;
        }

        /** Strengths of the importance dial ({@code si_dial}). */
        public Builder dialStrengths(List<Double> v) {
            dialStrengths = v;
            return this;
        }

        /** α of the uniform rescale ({@code wise_ft}). */
        public Builder uniformAlphas(List<Double> v) {
            uniformAlphas = v;
            return this;
        }

        public DemoPlan build() {
            return new DemoPlan(models, domains, seeds, workers, targets, r, alpha, seqLen, batchSize, lr, nuRows, nuEpochs, muEpochs,
                    muRows, earlyPoints, phiGrid, ewcGrid, replayFractions, tau, fisherSamples, pplTokens, quizItems, budgets, budgetEvery,
                    dialStrengths, uniformAlphas);
        }
    }

    /** This plan with {@code workers} worker processes. */
    public DemoPlan withWorkers(int workers) {
        return toBuilder().workers(workers).build();
    }

    public ObjectNode toJson() {
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        strings(o.putArray("models"), models);
        strings(o.putArray("domains"), domains);
        ArrayNode s = o.putArray("seeds");
        seeds.forEach(s::add);
        o.put("workers", workers);
        strings(o.putArray("target_modules"), targets);
        o.put("r", r);
        o.put("lora_alpha", alpha);
        o.put("seq_len", seqLen);
        o.put("batch_size", batchSize);
        o.put("lr", lr);
        o.put("nu_rows", nuRows);
        o.put("nu_epochs", nuEpochs);
        o.put("mu_epochs", muEpochs);
        o.put("mu_rows", muRows);
        doubles(o.putArray("early_points"), earlyPoints);
        doubles(o.putArray("phi_grid"), phiGrid);
        doubles(o.putArray("ewc_lambda_grid"), ewcGrid);
        doubles(o.putArray("replay_fractions"), replayFractions);
        o.put("tau", tau);
        o.put("fisher_samples", fisherSamples);
        o.put("ppl_tokens", pplTokens);
        o.put("quiz_items", quizItems);
        doubles(o.putArray("general_budgets"), budgets);
        o.put("budget_every", budgetEvery);
        doubles(o.putArray("dial_strengths"), dialStrengths);
        doubles(o.putArray("uniform_alphas"), uniformAlphas);
        return o;
    }

    /** The plan stored by {@link #toJson()}. */
    public static DemoPlan fromJson(JsonNode o) {
        return new Builder().models(strings(o.get("models"))).domains(strings(o.get("domains"))).seeds(longs(o.get("seeds")))
                .workers(o.get("workers").asInt()).targets(strings(o.get("target_modules"))).r(o.get("r").asInt())
                .alpha(o.get("lora_alpha").asDouble()).seqLen(o.get("seq_len").asInt()).batchSize(o.get("batch_size").asInt())
                .lr(o.get("lr").asDouble()).nuRows(o.get("nu_rows").asInt()).nuEpochs(o.get("nu_epochs").asInt())
                .muEpochs(o.get("mu_epochs").asInt()).muRows(o.get("mu_rows").asInt()).earlyPoints(doubles(o.get("early_points")))
                .phiGrid(doubles(o.get("phi_grid"))).ewcGrid(doubles(o.get("ewc_lambda_grid")))
                .replayFractions(doubles(o.get("replay_fractions"))).tau(o.get("tau").asText())
                .fisherSamples(o.get("fisher_samples").asInt()).pplTokens(o.get("ppl_tokens").asInt()).quizItems(o.get("quiz_items").asInt())
                .budgets(doubles(o.get("general_budgets"))).budgetEvery(o.get("budget_every").asInt())
                .dialStrengths(doubles(o.get("dial_strengths"))).uniformAlphas(doubles(o.get("uniform_alphas")))
                .build();
    }

    private static void strings(ArrayNode a, List<String> v) {
        v.forEach(a::add);
    }

    private static void doubles(ArrayNode a, List<Double> v) {
        v.forEach(a::add);
    }

    private static List<String> strings(JsonNode a) {
        List<String> l = new ArrayList<>();
        a.forEach(n -> l.add(n.asText()));
        return l;
    }

    private static List<Long> longs(JsonNode a) {
        List<Long> l = new ArrayList<>();
        a.forEach(n -> l.add(n.asLong()));
        return l;
    }

    private static List<Double> doubles(JsonNode a) {
        List<Double> l = new ArrayList<>();
        a.forEach(n -> l.add(n.asDouble()));
        return l;
    }
}
