package org.silora.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;

@Command(name = "merge", description = "write the merged model (W0 + s*B*A folded in) as a Hugging Face checkpoint [not built yet: issue 3: LoRA and adapters]")
final class MergeCommand extends NotBuiltYet {

    @Unmatched
    List<String> args;

    MergeCommand() {
        super("merge", "issue 3: LoRA and adapters");
    }
}
