package org.silora.eval;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * MedMCQA (Pal et al. 2022) as JSON lines with {@code question}, {@code opa..opd}, {@code cop}. The original
 * release numbers {@code cop} 1–4, the Hugging Face Hub copy 0–3: {@link CopBase#AUTO} decides from the whole
 * file (a 0 means 0-based, a 4 means 1-based, both is an error; neither is ambiguous and is read as the
 * original release's 1-based, with a warning) and the decision is logged and returned in {@link McDataset#note()}.
 *
 * <p>Prompt as lm-evaluation-harness's {@code medmcqa}: {@code "Question: q\nChoices:\nA. opa\nB. opb\nC. opc\nD. opd\nAnswer:"},
 * choices {@code A}–{@code D}.
 */
public final class MedMcqa {

    private static final Logger LOG = LoggerFactory.getLogger(MedMcqa.class);

    /** How {@code cop} is numbered. */
    public enum CopBase { AUTO, ZERO, ONE }

    private MedMcqa() {
    }

    public static McDataset load(Path file) {
        return load(file, CopBase.AUTO, false);
    }

    public static McDataset load(Path file, CopBase base, boolean skipMalformed) {
        JsonRecords.Records recs = JsonRecords.read(file, skipMalformed);
        List<String> prompts = new ArrayList<>();
        List<Integer> cops = new ArrayList<>();
        List<Integer> lines = new ArrayList<>();
        int skipped = recs.skipped();
        for (JsonRecords.Rec r : recs.records()) {
            try {
                String q = JsonRecords.text(file, r, "question");
                String a = JsonRecords.text(file, r, "opa");
                String b = JsonRecords.text(file, r, "opb");
                String c = JsonRecords.text(file, r, "opc");
                String d = JsonRecords.text(file, r, "opd");
                int cop = JsonRecords.integer(file, r, "cop");
                if (cop < 0 || cop > 4) throw new JsonRecords.Malformed(file, r.line(), "cop " + cop + " is outside 0..4");
                prompts.add(prompt(q, a, b, c, d));
                cops.add(cop);
                lines.add(r.line());
            } catch (JsonRecords.Malformed e) {
                if (!skipMalformed) throw e;
                skipped++;
            }
        }
        boolean hasZero = cops.contains(0);
        boolean hasFour = cops.contains(4);
        String note;
        int offset;
        if (base == CopBase.AUTO) {
            if (hasZero && hasFour) {
                int l0 = lines.get(cops.indexOf(0));
                int l4 = lines.get(cops.indexOf(4));
                throw new org.silora.hf.ModelFormatException(file + ": line " + l4 + ": cop 4, but line " + l0
                        + " has cop 0: neither 0-based nor 1-based");
            }
            if (hasZero) {
                offset = 0;
                note = "cop is 0-based (the Hugging Face Hub copy): a cop of 0 occurs";
            } else if (hasFour) {
                offset = 1;
                note = "cop is 1-based (the original release): a cop of 4 occurs";
            } else {
                offset = 1;
                note = "cop is ambiguous (only 1..3 occur); read as 1-based like the original release";
                LOG.warn("{}: {}; force it with the cop-base option if this file is the Hub's 0-based copy", file, note);
            }
        } else {
            offset = base == CopBase.ONE ? 1 : 0;
            note = "cop is " + offset + "-based (as told)";
        }
        LOG.info("{}: {}", file, note);
        List<MultipleChoiceItem> items = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            int label = cops.get(i) - offset;
            if (label < 0 || label > 3) {
                if (!skipMalformed) {
                    throw new org.silora.hf.ModelFormatException(file + ": line " + lines.get(i) + ": cop " + cops.get(i)
                            + " is outside " + offset + ".." + (3 + offset) + " (" + note + ")");
                }
                skipped++;
                continue;
            }
            items.add(new MultipleChoiceItem(prompts.get(i), List.of("A", "B", "C", "D"), label));
        }
        return Loaders.done("medmcqa", file, items, skipped, note);
    }

    public static String prompt(String q, String a, String b, String c, String d) {
        return "Question: " + q + "\nChoices:\nA. " + a + "\nB. " + b + "\nC. " + c + "\nD. " + d + "\nAnswer:";
    }
}
