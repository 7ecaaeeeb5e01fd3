package org.silora.eval;

import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * PIQA (Bisk et al. 2020) as its authors publish it: {@code X.jsonl} with {@code goal}, {@code sol1},
 * {@code sol2}, and the line-aligned {@code X-labels.lst} (0 or 1 per line); or items carrying {@code label}
 * themselves (the Hub's form), which then wins. Prompt {@code "Question: " + goal + "\nAnswer:"}, choices
 * {@code [sol1, sol2]}, as lm-evaluation-harness's {@code piqa} task.
 */
public final class Piqa {

    private Piqa() {
    }

    /** Loads {@code file}, taking labels from the {@code -labels.lst} beside it where the items lack them. */
    public static McDataset load(Path file) {
        return load(file, labelsFile(file), false);
    }

    /** The label file the authors ship beside {@code X.jsonl}: {@code X-labels.lst}. */
    public static Path labelsFile(Path data) {
        String name = data.getFileName().toString();
        String stem = name.endsWith(".jsonl") ? name.substring(0, name.length() - 6)
                : name.endsWith(".json") ? name.substring(0, name.length() - 5) : name;
        return data.resolveSibling(stem + "-labels.lst");
    }

    /**
     * @param labels        the label file, or {@code null}; used for items without {@code label}
     * @param skipMalformed count and skip bad records instead of failing (never for a label-file mismatch)
     */
    public static McDataset load(Path file, Path labels, boolean skipMalformed) {
        // labels align by line of the data file, so the data is read line by line here, blank lines included
        List<String> lines;
        try {
            lines = readLines(file);
        } catch (IOException e) {
            throw ModelFormatException.of(file, e instanceof java.nio.file.NoSuchFileException ? "no such file"
                    : e instanceof java.nio.charset.CharacterCodingException ? "not UTF-8 text" : "cannot read: " + e.getMessage());
        }
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) lines.remove(lines.size() - 1);
        if (lines.isEmpty()) throw ModelFormatException.of(file, "holds no records");
        int[] fileLabels = null;
        String note = "labels from the items";
        List<MultipleChoiceItem> items = new ArrayList<>();
        int skipped = 0;
        for (int i = 0; i < lines.size(); i++) {
            int lineNo = i + 1;
            String line = lines.get(i);
            try {
                if (line.isBlank()) throw new JsonRecords.Malformed(file, lineNo, "blank line (PIQA labels align by line)");
                JsonRecords.Rec r;
                try {
                    r = new JsonRecords.Rec(lineNo, JsonRecords.JSON.readTree(line));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new JsonRecords.Malformed(file, lineNo, "not valid JSON: " + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED));
                }
                String goal = JsonRecords.text(file, r, "goal");
                List<String> choices = List.of(JsonRecords.text(file, r, "sol1"), JsonRecords.text(file, r, "sol2"));
                int label;
                if (r.node().hasNonNull("label")) {
                    label = JsonRecords.integer(file, r, "label");
                } else {
                    if (fileLabels == null) {
                        if (labels == null || !Files.exists(labels)) {
                            throw ModelFormatException.of(file, "line " + lineNo + ": no 'label', and no label file "
                                    + (labels == null ? "given" : labels + " beside it"));
                        }
                        fileLabels = readLabels(labels, lines.size());
                        note = "labels from " + labels.getFileName();
                    }
                    label = fileLabels[i];
                }
                if (label != 0 && label != 1) throw new JsonRecords.Malformed(file, lineNo, "label " + label + " is not 0 or 1");
                items.add(new MultipleChoiceItem("Question: " + goal + "\nAnswer:", choices, label));
            } catch (JsonRecords.Malformed e) {
                if (!skipMalformed) throw e;
                skipped++;
            }
        }
        return Loaders.done("piqa", file, items, skipped, note);
    }

    private static int[] readLabels(Path labels, int expected) {
        List<String> lines;
        try {
            lines = readLines(labels);
        } catch (IOException e) {
            throw ModelFormatException.of(labels, "cannot read: " + e.getMessage());
        }
        while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) lines.remove(lines.size() - 1);
        if (lines.size() != expected) {
            throw ModelFormatException.of(labels, "has " + lines.size() + " labels, the data file has " + expected + " lines");
        }
        int[] out = new int[expected];
        for (int i = 0; i < expected; i++) {
            String s = lines.get(i).trim();
            if (!s.equals("0") && !s.equals("1")) throw ModelFormatException.of(labels, "line " + (i + 1) + ": label '" + s + "' is not 0 or 1");
            out[i] = s.charAt(0) - '0';
        }
        return out;
    }

    private static List<String> readLines(Path f) throws IOException {
        try (var r = new java.io.BufferedReader(JsonRecords.reader(f))) {
            List<String> out = new ArrayList<>();
            String l;
            while ((l = r.readLine()) != null) out.add(l);
            if (!out.isEmpty() && out.get(0).startsWith("\uFEFF")) out.set(0, out.get(0).substring(1));
            return out;
        }
    }
}
