package org.silora.cli;

import java.util.concurrent.Callable;

/** Base of the commands the specification names that are not built yet: they say so and exit non-zero. */
abstract class NotBuiltYet implements Callable<Integer> {

    private final String command;
    private final String issue;

    NotBuiltYet(String command, String issue) {
        this.command = command;
        this.issue = issue;
    }

    @Override
    public Integer call() {
        System.err.println("silora " + command + ": not built yet (" + issue + "); no output was produced");
        return SiloraMain.NOT_BUILT;
    }
}
