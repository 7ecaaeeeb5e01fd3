package org.silora.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;

@Command(name = "demo", description = "the main job: SI-LoRA and the baselines on the shipped data, report with plots [not built yet: issue 7: the demo]")
final class DemoCommand extends NotBuiltYet {

    @Unmatched
    List<String> args;

    DemoCommand() {
        super("demo", "issue 7: the demo");
    }
}
