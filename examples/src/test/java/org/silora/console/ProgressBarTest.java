package org.silora.console;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ProgressBar} off a terminal, as a child JVM or a run with stderr sent to a file sees it. */
class ProgressBarTest {
    /** "label  NN% [...] done/total (elapsed / remaining) rate/s note" ("?" where nothing is known yet). */
    private static final Pattern LINE = Pattern.compile(
            "work +(\\d+)% \\[[=> ]*] +(\\d+)/100 \\(\\d+:\\d\\d:\\d\\d / (\\d+:\\d\\d:\\d\\d|\\?)\\) (\\?|\\d+(\\.\\d+)?)/s loss \\d\\.\\d");

    @Test
    void offATerminalEachTenthReachedIsOnePlainLineWithRateAndEta() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int[] reports = {0, 3, 10, 11, 35, 57, 58, 99, 100};
        try (ProgressBar bar = new ProgressBar("work", 0, err, false)) {
            for (int done : reports) {
                bar.update(done, 100, "loss " + (done % 10) + ".5");
            }
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(out.contains("\r") || out.contains("\u001b"), "no carriage returns or escape codes: " + out);
        List<Integer> tenths = new ArrayList<>();   // the tenths the reports reach, each once, in order
        for (int done : reports) {
            if (tenths.isEmpty() || done / 10 > tenths.get(tenths.size() - 1)) tenths.add(done / 10);
        }
        List<String> lines = out.lines().toList();
        assertEquals(tenths.size(), lines.size(), out);
        for (int k = 0; k < lines.size(); k++) {
            Matcher m = LINE.matcher(lines.get(k));
            assertTrue(m.matches(), "percent, count, elapsed / remaining, rate and note: '" + lines.get(k) + "'");
            assertTrue(lines.get(k).length() <= ProgressBar.LINE_WIDTH, lines.get(k));
            assertEquals(tenths.get(k), Integer.parseInt(m.group(2)) / 10, "the line of the report that reached it: " + out);
            assertEquals(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(1)), "percent of 100: " + lines.get(k));
            assertTrue(m.group(2).equals("0") || !m.group(3).equals("?"), "an ETA once work is done: " + lines.get(k));
        }
    }

    @Test
    void aBarThatNeverLearnsItsTotalPrintsNothing() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        new ProgressBar("idle", 0, err, false).close();
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
    }
}
