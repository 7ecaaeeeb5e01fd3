package org.silora.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Where {@code System.out} points while a command runs: libraries' prints go to stderr instead of mixing with the
 * JSON, and SameDiff's per-op chatter ("Added differentiated op ...", one line per op whenever a gradient graph is
 * built) is dropped.
 */
final class LibraryOutput extends OutputStream {

    private final PrintStream target;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    private LibraryOutput(PrintStream target) {
        this.target = target;
    }

    static PrintStream to(PrintStream target) {
        return new PrintStream(new LibraryOutput(target), true, StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void write(int b) {
        if (b == '\n') {
            flushLine();
        } else {
            line.write(b);
        }
    }

    private void flushLine() {
        String s = line.toString(StandardCharsets.UTF_8);
        line.reset();
        if (!s.startsWith("Added differentiated op")) target.println(s);
    }

    @Override
    public synchronized void flush() {
        target.flush();
    }
}
