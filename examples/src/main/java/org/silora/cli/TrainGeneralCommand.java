package org.silora.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;

@Command(name = "train-general", description = "phase nu: LoRA on general text with SI importance recording [not built yet: issue 4: SI importance]")
final class TrainGeneralCommand extends NotBuiltYet {

    @Unmatched
    List<String> args;

    TrainGeneralCommand() {
        super("train-general", "issue 4: SI importance");
    }
}
