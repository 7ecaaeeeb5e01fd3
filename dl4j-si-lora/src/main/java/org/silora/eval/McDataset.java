package org.silora.eval;

import java.util.List;

/**
 * The items a loader read, how many malformed records it skipped (only when asked to skip), and a note on
 * what it decided (e.g. MedMCQA's {@code cop} base), for the log.
 */
public record McDataset(String task, List<MultipleChoiceItem> items, int skipped, String note) {

    public McDataset {
        items = List.copyOf(items);
        if (note == null) note = "";
    }

    /** The first {@code n} items (all when {@code n <= 0}). */
    public McDataset limit(int n) {
        return n <= 0 || n >= items.size() ? this : new McDataset(task, items.subList(0, n), skipped, note);
    }
}
