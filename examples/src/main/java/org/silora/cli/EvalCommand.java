package org.silora.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;

@Command(name = "eval", description = "multiple-choice accuracy (sciq, piqa, medmcqa) or perplexity [not built yet: issue 6: evaluation and baselines]")
final class EvalCommand extends NotBuiltYet {

    @Unmatched
    List<String> args;

    EvalCommand() {
        super("eval", "issue 6: evaluation and baselines");
    }
}
