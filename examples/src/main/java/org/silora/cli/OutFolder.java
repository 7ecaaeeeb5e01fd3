package org.silora.cli;

import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** {@code --out DIR} of the commands that write a folder (train-general, train-domain, merge, pretrain). */
final class OutFolder {

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created)")
    Path dir;

    /** The folder, refused with one line when it exists and is not a folder; call it before any work. */
    Path checked() {
        check(dir);
        return dir;
    }

    /**
     * Refuses an {@code --out} that exists and is not a folder, before any work (a command that found out only when
     * writing its outputs would have worked for nothing).
     */
    static void check(Path out) {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " exists and is not a folder");
        }
    }
}
