package org.silora.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;

@Command(name = "train-domain", description = "phase mu: LoRA on domain data with the chosen method [not built yet: issue 4: SI importance]")
final class TrainDomainCommand extends NotBuiltYet {

    @Unmatched
    List<String> args;

    TrainDomainCommand() {
        super("train-domain", "issue 4: SI importance");
    }
}
