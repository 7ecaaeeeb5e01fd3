package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.console.ProgressBar;
import org.silora.control.GeneralBudget;
import org.silora.ewc.FisherInformation;
import org.silora.io.ModelFingerprint;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;
import org.silora.lora.TrainingResult;
import org.silora.memory.MemoryPlanner;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.SiRecipe;
import org.silora.si.QuadraticPenalty;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code silora train-domain}: phase μ with one of the methods of SPEC §2; writes the adapter. */
@Command(name = "train-domain", mixinStandardHelpOptions = true,
        description = "Phase mu: LoRA on domain data with --method lora|rslora|si|si-no-layer|ewc; writes the peft adapter into --out.")
public final class TrainDomainCommand implements Callable<Integer> {

    @Mixin
    ModelOption modelOption;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--method", required = true, description = "lora, rslora, si, si-no-layer or ewc")
    String method;

    @Option(names = "--adapter", paramLabel = "DIR", description = "start from this adapter (e.g. the nu adapter) instead of a fresh one")
    Path adapter;

    @Option(names = "--importance", paramLabel = "FILE", description = "importance.safetensors of phase nu (si, si-no-layer)")
    Path importance;

    @Option(names = "--fisher", paramLabel = "FILE", description = "Fisher file of `silora fisher` (ewc)")
    Path fisher;

    @Option(names = "--phi", defaultValue = "1e-3", description = "penalty weight phi (default ${DEFAULT-VALUE})")
    double phi;

    @Option(names = "--ewc-lambda", defaultValue = "0.5", description = "EWC-LoRA penalty weight lambda (default ${DEFAULT-VALUE})")
    double ewcLambda;

    @Option(names = "--si-recipe", description = "with --method si: spec or authors; authors uses lambda = softmax(1e-8 ||Omega_l||) and "
            + "needs an importance file recorded with train-general --si-recipe authors (default: the file's own layer weights)")
    String siRecipe;

    @Option(names = "--tau", description = "recompute the layer weights with this temperature (number or auto) instead of the file's")
    String tau;

    @Option(names = "--general-budget", paramLabel = "NATS", description = "with --method si, si-no-layer or ewc: keep the rise of per-token "
            + "loss on --general-probe text against the base model at or below this (nats), adapting phi (or the EWC lambda) during "
            + "training; --phi / --ewc-lambda give the starting value")
    Double generalBudget;

    @Option(names = "--general-probe", paramLabel = "FILE", description = "held-out general text the budget is measured on "
            + "(disjoint from what you evaluate on; any form --data accepts)")
    Path generalProbe;

    @Option(names = "--probe-rows", defaultValue = "16", description = "rows of --seq-len tokens read from --general-probe (default ${DEFAULT-VALUE})")
    int probeRows;

    @Option(names = "--budget-every", defaultValue = "10", description = "measure the probe and adapt the coefficient every K optimizer steps (default ${DEFAULT-VALUE})")
    int budgetEvery;

    @Option(names = "--budget-rate", defaultValue = "10", description = "log-space step of the coefficient per nat off the budget (default ${DEFAULT-VALUE})")
    double budgetRate;

    @Mixin
    TextDataOption dataOption;

    @Mixin
    OutFolder outOption;

    @Mixin
    LoraOptions lora;

    @Mixin
    TrainOptions train;

    @Mixin
    StepOptions step;

    @Mixin
    MemoryOptions memory;

    @Override
    public Integer call() throws Exception {
        TrainingOptions.Engine engine = step.engine();   // a bad --engine is refused before any work
        Path out = outOption.checked();
        String m = method.toLowerCase(Locale.ROOT);
        boolean si = m.equals("si") || m.equals("si-no-layer");
        switch (m) {
            case "lora", "rslora", "si", "si-no-layer", "ewc" -> { }
            default -> throw new IllegalArgumentException("--method must be lora, rslora, si, si-no-layer or ewc, got " + method);
        }
        if (si && importance == null) throw new IllegalArgumentException("--method " + m + " needs --importance FILE (from train-general)");
        if (!si && importance != null) throw new IllegalArgumentException("--importance is used by --method si and si-no-layer only");
        boolean ewc = m.equals("ewc");
        if (ewc && fisher == null) throw new IllegalArgumentException("--method ewc needs --fisher FILE (from silora fisher)");
        if (!ewc && fisher != null) throw new IllegalArgumentException("--fisher is used by --method ewc only");
        SiRecipe recipe = siRecipe == null ? null : SiRecipe.parse(siRecipe);
        if (recipe != null && !m.equals("si")) throw new IllegalArgumentException("--si-recipe is used by --method si only");
        if (recipe == SiRecipe.AUTHORS && tau != null) throw new IllegalArgumentException("--si-recipe authors fixes tau (1e8); drop --tau");
        if (m.equals("si-no-layer") && tau != null) throw new IllegalArgumentException("--method si-no-layer weights every layer 1/L; drop --tau");
        // options a method would silently ignore are refused: SI continues from the nu adapter in the importance file,
        // an --adapter brings its own LoRA configuration
        var parsed = spec.commandLine().getParseResult();
        if (si || adapter != null) {
            for (String o : new String[]{"--r", "--lora-alpha", "--target-modules", "--use-rslora", "--init-lora-weights"}) {
                if (parsed.hasMatchedOption(o)) {
                    throw new IllegalArgumentException(o + " is not used by " + (si ? "--method " + m + " (it continues from the nu adapter held in --importance)"
                            : "--adapter (the adapter's own configuration is used)"));
                }
            }
        }
        if (!(ewcLambda >= 0) || Double.isInfinite(ewcLambda)) throw new IllegalArgumentException("--ewc-lambda must be >= 0, got " + ewcLambda);
        boolean budgeted = generalBudget != null;
        if (budgeted && !(si || ewc)) throw new IllegalArgumentException("--general-budget adapts a penalty: use it with --method si, si-no-layer or ewc");
        if (budgeted && generalProbe == null) throw new IllegalArgumentException("--general-budget needs --general-probe FILE (held-out general text)");
        if (!budgeted) {
            for (String o : new String[]{"--general-probe", "--probe-rows", "--budget-every", "--budget-rate"}) {
                if (parsed.hasMatchedOption(o)) throw new IllegalArgumentException(o + " is used with --general-budget only");
            }
        }
        if (budgeted && generalProbe != null && !java.nio.file.Files.isRegularFile(generalProbe)) {
            throw new IllegalArgumentException("--general-probe " + generalProbe + " is not a file");
        }
        if (probeRows < 1) throw new IllegalArgumentException("--probe-rows must be >= 1, got " + probeRows);

        Path model = modelOption.folder();
        Path data = dataOption.file;
        String fingerprint = ModelFingerprint.of(model);
        List<int[]> rows = train.rows(model, data);
        LoraConfig planned = adapter != null ? PeftAdapters.readConfig(adapter)
                : si ? LoraConfig.builder().targetModules(Importance.modulesIn(importance)).build()
                : lora.config(model.toString(), m.equals("rslora"));
        memory.training(MemoryPlanner.training(modelOption.config(), planned, train.batchSize, train.longestRow(rows),
                step.gradAccum, si || ewc ? MemoryPlanner.Extra.PENALTY : MemoryPlanner.Extra.NONE, "train-domain",
                memory.budget(), engine));
        FisherInformation fim = ewc ? FisherInformation.load(fisher) : null;
        Importance imp = null;
        if (si) {
            imp = Importance.load(importance);
            if (m.equals("si-no-layer")) imp = imp.withWeighting(LayerWeighting.UNIFORM);
            else if (tau != null) imp = imp.withWeighting(LayerWeighting.parse(tau));
            if (recipe != null) {
                String recorded = imp.metadata().getOrDefault("recipe", "spec");
                if (!recorded.equals(recipe.id())) {
                    throw new IllegalArgumentException(importance + ": recorded with SI recipe " + recorded + ", not " + recipe.id()
                            + " (record it with train-general --si-recipe " + recipe.id() + ")");
                }
                if (recipe == SiRecipe.AUTHORS) imp = imp.withWeighting(recipe.weighting(LayerWeighting.AUTO));
            }
        }
        LoraModel lm;
        if (adapter != null) {
            lm = PeftAdapters.load(model, adapter);
            if (m.equals("rslora") && !lm.config().useRslora()) {
                throw new IllegalArgumentException("--method rslora with an adapter that does not use rsLoRA scaling: start fresh or pass an rsLoRA adapter");
            }
        } else if (si) {
            lm = imp.continueFrom(model);   // SPEC §2: phase μ continues from the ν adapter, which the importance file holds
        } else {
            lm = LoraModel.create(model, lora.config(model.toString(), m.equals("rslora")), train.seed);
        }
        if (m.equals("lora") && lm.config().useRslora()) m = "rslora";   // --method lora --use-rslora is rsLoRA: say so
        memory.report();
        LoraTrainer trainer = new LoraTrainer(lm, step.options(train));
        QuadraticPenalty penalty = null;
        if (si) {
            imp.checkFits(lm, fingerprint, importance);
            penalty = QuadraticPenalty.si(lm, imp, phi);
        }
        if (ewc) {
            fim.checkFits(lm, fingerprint, fisher);
            penalty = fim.penalty(lm, ewcLambda);   // lambda * sum F (.) D^2, D = s*B*A
        }
        GeneralBudget budget = null;
        if (budgeted) {
            List<int[]> probe = train.rows(model, generalProbe, probeRows);
            budget = GeneralBudget.builder(penalty).budget(generalBudget).probe(probe).every(budgetEvery).rate(budgetRate)
                    .batchSize(train.batchSize).build(lm);
            trainer.setPenalty(budget);
            trainer.addListener(budget);   // before checkpointing: its coefficient and trajectory resume with the run
            System.err.printf(Locale.ROOT, "general budget %.4f nats on %d probe rows: base probe loss %.4f, starting delta %.4f%n",
                    generalBudget, probe.size(), budget.baseLoss(), budget.measureDeltaLoss());
        } else if (penalty != null) {
            trainer.setPenalty(penalty);
        }
        System.err.println("train-domain " + m + ": " + rows.size() + " rows, " + lm.modules().size() + " LoRA modules"
                + (si ? ", phi " + phi + ", tau " + imp.metadata().get("tau") + " (lambda entropy "
                + imp.metadata().get("lambda_entropy") + " of max " + imp.metadata().get("lambda_entropy_max") + ")" : ""));
        train.checkpointing(trainer, out, Map::of);
        DataParallel parallel = DataParallel.of(spec);   // the spark jar's --master/--workers, or none
        TrainingResult r;
        try (ProgressBar bar = new ProgressBar("mu", 0)) {
            r = trainer.train(rows, (step, total, loss) -> bar.update(step, total, String.format(Locale.ROOT, "loss %.3f", loss)),
                    parallel == null ? null : parallel.source(model, trainer));
        }
        Map<String, String> prov = new LinkedHashMap<>();
        prov.put("silora.phase", "mu");
        prov.put("silora.method", m);
        prov.put("silora.base_model_fingerprint", fingerprint);
        prov.put("silora.data", data.toString());
        if (si) prov.put("silora.phi", Double.toString(phi));
        if (ewc) prov.put("silora.ewc_lambda", Double.toString(ewcLambda));
        double finalDelta = Double.NaN;
        if (budget != null) {
            finalDelta = budget.measureDeltaLoss();
            prov.put("silora.general_budget", Double.toString(generalBudget));
            prov.put("silora.general_probe", generalProbe.toString());
            prov.put("silora.final_coefficient", Double.toString(budget.coefficient()));
        }
        PeftAdapters.save(lm.config(), lm.modules(), out, prov);
        TrainOptions.dropCheckpoint(out);

        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("method", m);
        o.put("steps", r.steps());
        o.put("tokens", r.tokens());
        o.put("seconds", r.seconds());
        o.put("engine", trainer.engineName());
        o.put("loss_first", r.firstLoss());
        o.put("loss_last", r.lastLoss());
        if (si) {
            o.put("phi", phi);
            o.put("penalty_last", r.stepPenalties().get(r.stepPenalties().size() - 1));
            o.put("tau", imp.metadata().get("tau"));
            o.put("lambda_entropy", Double.parseDouble(imp.metadata().get("lambda_entropy")));
        }
        if (ewc) {
            o.put("ewc_lambda", ewcLambda);
            o.put("penalty_last", r.stepPenalties().get(r.stepPenalties().size() - 1));
        }
        if (budget != null) {
            o.put("general_budget", generalBudget);
            o.put("base_probe_loss", budget.baseLoss());
            o.put("final_delta_loss", finalDelta);
            o.put("budget_kept", finalDelta <= generalBudget);
            o.put("final_coefficient", budget.coefficient());
            var t = o.putArray("coefficient_trajectory");
            for (GeneralBudget.Point p : budget.trajectory()) {
                ObjectNode q = t.addObject();
                q.put("step", p.step());
                q.put("delta_loss", p.deltaLoss());
                q.put(si ? "phi" : "ewc_lambda", p.coefficient());
            }
        }
        if (parallel != null) parallel.describe(o);
        o.put("out", out.toString());
        SiloraMain.json().println(om.writeValueAsString(o));
        return 0;
    }

}
