package org.silora.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;

@Command(name = "fisher", description = "EWC-LoRA per-sample Fisher over general text [not built yet: issue 6: evaluation and baselines]")
final class FisherCommand extends NotBuiltYet {

    @Unmatched
    List<String> args;

    FisherCommand() {
        super("fisher", "issue 6: evaluation and baselines");
    }
}
