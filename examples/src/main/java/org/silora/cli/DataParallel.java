package org.silora.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.lora.LoraTrainer;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;

/**
 * Where {@code train-general} and {@code train-domain} get each step's gradients when not from their own process: a
 * picocli mixin that implements this (the spark jar's {@code --master}/{@code --workers}) is added to the command, which
 * then trains with {@link LoraTrainer#train(java.util.List, LoraTrainer.Progress, LoraTrainer.GradientSource)} and
 * otherwise runs and writes exactly as without it.
 *
 * <pre>{@code
 * CommandLine train = new CommandLine(new TrainGeneralCommand());
 * train.addMixin("cluster", new SparkOptions());   // implements DataParallel
 * }</pre>
 */
public interface DataParallel {

    /** The gradient source for {@code trainer}, whose base model is the folder {@code modelDir}. */
    LoraTrainer.GradientSource source(Path modelDir, LoraTrainer trainer);

    /** Adds this run's keys to the command's JSON summary. */
    void describe(ObjectNode summary);

    /** The data-parallel mixin of a command, or {@code null} (training in this process). */
    static DataParallel of(CommandSpec spec) {
        for (CommandSpec m : spec.mixins().values()) {
            if (m.userObject() instanceof DataParallel d) return d;
        }
        return null;
    }
}
