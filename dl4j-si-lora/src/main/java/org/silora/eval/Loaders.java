package org.silora.eval;

import org.silora.hf.ModelFormatException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Picks the loader of a task by name; shared helpers. */
public final class Loaders {

    private static final Logger LOG = LoggerFactory.getLogger(Loaders.class);

    private Loaders() {
    }

    /** Loads {@code file} as {@code task} ({@code sciq}, {@code piqa} or {@code medmcqa}). */
    public static McDataset load(String task, Path file, boolean skipMalformed) {
        return switch (task.toLowerCase(Locale.ROOT)) {
            case "sciq" -> SciQ.load(file, skipMalformed);
            case "piqa" -> Piqa.load(file, Piqa.labelsFile(file), skipMalformed);
            case "medmcqa" -> MedMcqa.load(file, MedMcqa.CopBase.AUTO, skipMalformed);
            default -> throw new IllegalArgumentException("unknown multiple-choice task '" + task + "' (sciq, piqa, medmcqa)");
        };
    }

    static McDataset done(String task, Path file, List<MultipleChoiceItem> items, int skipped, String note) {
        if (items.isEmpty()) throw ModelFormatException.of(file, "holds no usable " + task + " items" + (skipped > 0 ? " (" + skipped + " skipped)" : ""));
        if (skipped > 0) LOG.warn("{}: skipped {} malformed records", file, skipped);
        return new McDataset(task, items, skipped, note);
    }

    /** Python's {@code str.lstrip()}: removes leading whitespace. */
    static String lstrip(String s) {
        int i = 0;
        while (i < s.length() && isPySpace(s.charAt(i))) i++;
        return s.substring(i);
    }

    /** Python's {@code str.isspace} for one char (Java's isWhitespace misses the no-break spaces and U+0085). */
    static boolean isPySpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }
}
