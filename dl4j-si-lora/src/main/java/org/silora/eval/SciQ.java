package org.silora.eval;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * SciQ (Welbl et al. 2017) as published: a JSON array of records (the original {@code train.json},
 * {@code valid.json}, {@code test.json}) or JSON lines (the Hub's export), each with {@code question},
 * {@code distractor1..3}, {@code correct_answer}, {@code support}.
 *
 * <p>As lm-evaluation-harness's {@code sciq} task: prompt {@code support.lstrip() + "\nQuestion: " + question +
 * "\nAnswer:"}, choices {@code [distractor1, distractor2, distractor3, correct_answer]}, label 3.
 */
public final class SciQ {

    private SciQ() {
    }

    public static McDataset load(Path file) {
        return load(file, false);
    }

    /** @param skipMalformed count and skip bad records instead of failing on the first */
    public static McDataset load(Path file, boolean skipMalformed) {
        JsonRecords.Records recs = JsonRecords.read(file, skipMalformed);
        List<MultipleChoiceItem> items = new ArrayList<>();
        int skipped = recs.skipped();
        for (JsonRecords.Rec r : recs.records()) {
            try {
                items.add(item(file, r));
            } catch (JsonRecords.Malformed e) {
                if (!skipMalformed) throw e;
                skipped++;
            }
        }
        return Loaders.done("sciq", file, items, skipped, "");
    }

    static MultipleChoiceItem item(Path file, JsonRecords.Rec r) {
        String support = JsonRecords.text(file, r, "support");
        String question = JsonRecords.text(file, r, "question");
        List<String> choices = List.of(JsonRecords.text(file, r, "distractor1"), JsonRecords.text(file, r, "distractor2"),
                JsonRecords.text(file, r, "distractor3"), JsonRecords.text(file, r, "correct_answer"));
        return new MultipleChoiceItem(prompt(support, question), choices, 3);
    }

    /** {@code support.lstrip() + "\nQuestion: " + question + "\nAnswer:"}. */
    public static String prompt(String support, String question) {
        return Loaders.lstrip(support) + "\nQuestion: " + question + "\nAnswer:";
    }
}
