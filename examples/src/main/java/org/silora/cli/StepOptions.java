package org.silora.cli;

import org.silora.lora.TrainingOptions;
import picocli.CommandLine.Option;

import java.util.Locale;

/** How the LoRA training commands (train-general, train-domain) compute each step: accumulation, engine, non-finite steps. */
final class StepOptions {

    @Option(names = "--grad-accum", defaultValue = "1", description = "batches per optimizer step (default ${DEFAULT-VALUE})")
    int gradAccum;

    @Option(names = "--engine", defaultValue = "auto", paramLabel = "ENGINE",
            description = "what computes a step: auto (the direct step for LLaMA and GPT-J in F32 on the CPU), direct, "
                    + "or samediff (SameDiff's gradient pass over the graph; equal within float rounding, about 2-4x slower)")
    String engine;

    @Option(names = "--skip-nonfinite", description = "skip steps whose loss or gradients are NaN/Inf instead of stopping")
    boolean skipNonFinite;

    /** The trainer's options: {@code train}'s optimiser settings with these. */
    TrainingOptions options(TrainOptions train) {
        return train.builder().gradientAccumulation(gradAccum).skipNonFinite(skipNonFinite).engine(engine()).build();
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
