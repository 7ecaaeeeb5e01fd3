package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.console.ProgressBar;
import org.silora.hf.safetensors.DType;
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
import org.silora.si.SiMode;
import org.silora.si.SiRecipe;
import org.silora.si.SiRecorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code silora train-general}: phase ν, LoRA on general text with SI recording; writes the adapter and importance. */
@Command(name = "train-general", mixinStandardHelpOptions = true,
        description = "Phase nu: LoRA on general text with SI importance recording; writes the peft adapter and importance.safetensors into --out.")
public final class TrainGeneralCommand implements Callable<Integer> {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    TextDataOption dataOption;

    @Mixin
    OutFolder outOption;

    @Option(names = "--si-mode", defaultValue = "paper", description = "paper (Eq. 13) or exact (dL/dW) (default ${DEFAULT-VALUE})")
    String siMode;

    @Option(names = "--si-recipe", defaultValue = "spec", description = "spec (this project's: omega clamped once at the end, xi 1e-7, "
            + "--tau) or authors (the paper's released code: omega clamped at 0 after every step, xi 1e-9, Omega accumulated at the end "
            + "of each epoch, lambda = softmax(1e-8 ||Omega_l||)) (default ${DEFAULT-VALUE})")
    String siRecipe;

    @Option(names = "--xi", description = "damping xi of Omega = max(0, omega)/(delta^2 + xi) (default 1e-7; the authors' recipe fixes 1e-9)")
    Double xi;

    @Option(names = "--tau", description = "layer-weight temperature: a number, auto (std of the norms) or uniform (default auto; the "
            + "authors' recipe fixes 1e8)")
    String tau;

    @Option(names = "--importance", paramLabel = "FILE", description = "continue an earlier general phase: start from the adapter held in "
            + "this importance file and add the new phase's Omega to its own (SPEC 2: several general phases add up; the anchor moves to the new adapter)")
    Path previous;

    @Option(names = "--omega-dtype", defaultValue = "F32", description = "storage of Omega: F32, F16 or BF16 (default ${DEFAULT-VALUE})")
    DType omegaDtype;

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
        SiMode mode = switch (siMode.toLowerCase(Locale.ROOT)) {
            case "paper" -> SiMode.PAPER;
            case "exact" -> SiMode.EXACT;
            default -> throw new IllegalArgumentException("--si-mode must be paper or exact, got " + siMode);
        };
        SiRecipe recipe = SiRecipe.parse(siRecipe);
        if (recipe == SiRecipe.AUTHORS && (xi != null || tau != null)) {
            throw new IllegalArgumentException("--si-recipe authors fixes xi (1e-9) and tau (1e8); drop --xi/--tau or use --si-recipe spec");
        }
        LayerWeighting weighting = recipe.weighting(LayerWeighting.parse(tau == null ? "auto" : tau));
        if (previous != null) {
            for (String o : new String[]{"--r", "--lora-alpha", "--target-modules", "--use-rslora", "--init-lora-weights"}) {
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                    throw new IllegalArgumentException(o + " is not used with --importance (the phase continues from the adapter held in it)");
                }
            }
        }
        Path model = modelOption.folder();
        Path data = dataOption.file;
        List<int[]> rows = train.rows(model, data);
        String fingerprint = ModelFingerprint.of(model);
        Importance earlier = null;
        if (previous != null) {
            earlier = Importance.load(previous);
            earlier.checkBase(fingerprint, previous);
            String recorded = earlier.metadata().getOrDefault("recipe", "spec");
            if (!recorded.equals(recipe.id())) {
                throw new IllegalArgumentException(previous + ": recorded with SI recipe " + recorded + ", this phase uses " + recipe.id()
                        + " (Omega of different recipes does not add up)");
            }
        }
        LoraConfig cfg = earlier != null ? LoraConfig.builder().targetModules(Importance.modulesIn(previous)).build()
                : lora.config(model.toString(), false);
        memory.training(MemoryPlanner.training(modelOption.config(), cfg, train.batchSize, train.longestRow(rows),
                step.gradAccum, MemoryPlanner.si(mode), "train-general", memory.budget(), engine));
        long load0 = System.nanoTime();
        LoraModel lm = earlier != null ? earlier.continueFrom(model) : LoraModel.create(model, cfg, train.seed);
        if (earlier != null) cfg = lm.config();
        double loadSeconds = (System.nanoTime() - load0) / 1e9;
        memory.report();
        LoraTrainer trainer = new LoraTrainer(lm, step.options(train));
        SiRecorder.Builder sb = SiRecorder.builder(lm).mode(mode).recipe(recipe);
        if (xi != null) sb.xi(xi);
        if (earlier != null) sb.previous(earlier);
        SiRecorder si = sb.build();
        trainer.addListener(si);

        System.err.println("train-general: " + rows.size() + " rows of up to " + train.seqLen + " tokens, "
                + lm.modules().size() + " LoRA modules, SI mode " + mode + ", recipe " + recipe.id());
        double before = Double.parseDouble(train.checkpointing(trainer, out,
                () -> Map.of("loss_before", Double.toString(trainer.meanLoss(rows)))).get("loss_before"));
        DataParallel parallel = DataParallel.of(spec);   // the spark jar's --master/--workers, or none
        TrainingResult r;
        try (ProgressBar bar = new ProgressBar("nu", 0)) {
            r = trainer.train(rows, (step, total, loss) -> bar.update(step, total, String.format(Locale.ROOT, "loss %.3f", loss)),
                    parallel == null ? null : parallel.source(model, trainer));
        }
        double after = trainer.meanLoss(rows);

        Map<String, String> prov = new LinkedHashMap<>(Importance.provenance(model.toString(), fingerprint, lm, r.tokens(),
                data + " (" + rows.size() + " rows x " + (train.seqLen + 1) + " tokens, " + train.epochs + " epochs)"));
        prov.put("learning_rate", Double.toString(train.lr));
        prov.put("seed", Long.toString(train.seed));
        double omegaSum = si.omegaSum();
        Importance imp = si.consolidate(weighting, prov);

        Files.createDirectories(out);
        PeftAdapters.save(cfg, lm.modules(), out, Map.of("silora.phase", "nu", "silora.base_model_fingerprint", fingerprint,
                "silora.data", prov.get("data")));
        imp.save(out.resolve("importance.safetensors"), omegaDtype);
        TrainOptions.dropCheckpoint(out);

        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("omega_sum", omegaSum);
        o.put("loss_drop", before - after);
        o.put("loss_before", before);
        o.put("loss_after", after);
        o.put("steps", r.steps());
        o.put("tokens", r.tokens());
        o.put("seconds", r.seconds());
        o.put("load_seconds", loadSeconds);
        o.put("engine", trainer.engineName());
        o.put("si_mode", mode.name().toLowerCase(Locale.ROOT));
        o.put("si_recipe", recipe.id());
        org.silora.demo.Experiment.describe(imp, o);
        o.put("omega_bytes", imp.omegaBytes(omegaDtype));
        if (parallel != null) parallel.describe(o);
        o.put("out", out.toString());
        SiloraMain.json().println(om.writeValueAsString(o));
        return 0;
    }
}
