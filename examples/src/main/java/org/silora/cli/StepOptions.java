package org.silora.cli;

import org.silora.lora.TrainingOptions;
import picocli.CommandLine.Option;

import java.util.Locale;

/** How the LoRA training commands (train-general, train-domain) compute each step: accumulation, engine, weight decay, non-finite steps. */
final class StepOptions {

    @Option(names = "--grad-accum", defaultValue = "1", description = "batches per optimizer step (default ${DEFAULT-VALUE})")
    int gradAccum;

    @Option(names = "--engine", defaultValue = "auto", paramLabel = "ENGINE",
            description = "what computes a step: auto (the direct step for LLaMA and GPT-J in F32 on the CPU), direct, "
                    + "or samediff (SameDiff's gradient pass over the graph; equal within float rounding, about 2-4x slower)")
    String engine;

    @Option(names = "--weight-decay", defaultValue = "0", paramLabel = "X",
            description = "AdamW's decoupled weight decay on the LoRA factors, as transformers' weight_decay (default ${DEFAULT-VALUE}: plain Adam)")
    double weightDecay;

    @Option(names = "--skip-nonfinite", description = "skip steps whose loss or gradients are NaN/Inf instead of stopping")
    boolean skipNonFinite;

    /** The trainer's options: {@code train}'s optimiser settings with these. */
    TrainingOptions options(TrainOptions train) {
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) throw new IllegalArgumentException("--weight-decay must be >= 0, got " + weightDecay);
        return train.builder().gradientAccumulation(gradAccum).skipNonFinite(skipNonFinite).engine(engine()).weightDecay(weightDecay).build();
    }

    /** The {@code --engine} value, refused with one line when it names no engine. */
    TrainingOptions.Engine engine() {
        return switch (engine.toLowerCase(Locale.ROOT)) {
            case "auto" -> TrainingOptions.Engine.AUTO;
            case "direct" -> TrainingOptions.Engine.DIRECT;
            case "samediff" -> TrainingOptions.Engine.SAMEDIFF;
            default -> throw new IllegalArgumentException("--engine must be auto, direct or samediff, not '" + engine + "'");
        };
    }
}
