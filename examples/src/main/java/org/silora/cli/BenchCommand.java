package org.silora.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;

@Command(name = "bench", description = "the benchmark suite: speed and cost against the machine's own sgemm peak [not built yet: issue 8: bench]")
final class BenchCommand extends NotBuiltYet {

    @Unmatched
    List<String> args;

    BenchCommand() {
        super("bench", "issue 8: bench");
    }
}
