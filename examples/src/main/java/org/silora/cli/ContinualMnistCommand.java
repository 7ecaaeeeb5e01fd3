package org.silora.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;

@Command(name = "continual-mnist", description = "the DL4J path: split MNIST with fine-tuning, EWC and the SI listener [not built yet: issue 5: DL4J listener]")
final class ContinualMnistCommand extends NotBuiltYet {

    @Unmatched
    List<String> args;

    ContinualMnistCommand() {
        super("continual-mnist", "issue 5: DL4J listener");
    }
}
