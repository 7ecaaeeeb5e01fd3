package org.silora.eval;

import org.silora.io.TextDocuments;
import com.github.luben.zstd.ZstdOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.silora.hf.ModelFormatException;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Each loader on small files in the formats their authors publish, and malformed records. */
class LoadersTest {

    @TempDir
    Path tmp;

    private static final String SCIQ_1 = "{\"question\": \"What gas do plants absorb?\", \"distractor3\": \"helium\", \"distractor1\": \"oxygen\", "
            + "\"distractor2\": \"nitrogen\", \"correct_answer\": \"carbon dioxide\", \"support\": \" Plants use carbon dioxide.\"}";
    private static final String SCIQ_2 = "{\"question\": \"What is H2O?\", \"distractor3\": \"salt\", \"distractor1\": \"air\", "
            + "\"distractor2\": \"fire\", \"correct_answer\": \"water\", \"support\": \"\"}";

    @Test
    void sciqJsonArrayAsOriginallyReleased() throws Exception {
        Path f = tmp.resolve("valid.json");
        Files.writeString(f, "[\n  " + SCIQ_1 + ",\n  " + SCIQ_2 + "\n]\n");
        McDataset d = SciQ.load(f);
        assertEquals(2, d.items().size());
        MultipleChoiceItem a = d.items().get(0);
        assertEquals("Plants use carbon dioxide.\nQuestion: What gas do plants absorb?\nAnswer:", a.context());
        assertEquals(List.of("oxygen", "nitrogen", "helium", "carbon dioxide"), a.choices());
        assertEquals(3, a.label());
        assertEquals("\nQuestion: What is H2O?\nAnswer:", d.items().get(1).context());
    }

    @Test
    void sciqJsonLinesAndMalformedRecords() throws Exception {
        Path f = tmp.resolve("sciq.jsonl");
        Files.writeString(f, SCIQ_1 + "\n" + SCIQ_2 + "\n" + "{\"question\": \"broken\"\n" + SCIQ_2.replace("\"correct_answer\"", "\"answer\"") + "\n");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SciQ.load(f));
        assertTrue(e.getMessage().startsWith(f + ": line 3: not valid JSON"), e.getMessage());
        McDataset d = SciQ.load(f, true);
        assertEquals(2, d.items().size());
        assertEquals(2, d.skipped());

        Path g = tmp.resolve("sciq2.jsonl");
        Files.writeString(g, SCIQ_1 + "\n\n" + SCIQ_2.replace("\"correct_answer\"", "\"answer\"") + "\n");
        e = assertThrows(ModelFormatException.class, () -> SciQ.load(g));
        assertEquals(g + ": line 3: no field 'correct_answer'", e.getMessage());

        Path h = tmp.resolve("sciq.json");
        Files.writeString(h, "[\n" + SCIQ_1 + ",\n{\"question\": 3}\n]");
        e = assertThrows(ModelFormatException.class, () -> SciQ.load(h));
        assertTrue(e.getMessage().startsWith(h + ": line 3: "), e.getMessage());
    }

    @Test
    void piqaWithLabelFileOrLabelField() throws Exception {
        Path f = tmp.resolve("valid.jsonl");
        Files.writeString(f, """
                {"goal": "Open a jar", "sol1": "Twist the lid.", "sol2": "Hit the lid."}
                {"goal": "Dry wet shoes", "sol1": "Put them in water.", "sol2": "Stuff them with newspaper."}
                """);
        Files.writeString(tmp.resolve("valid-labels.lst"), "0\n1\n");
        McDataset d = Piqa.load(f);
        assertEquals(2, d.items().size());
        assertEquals("Question: Open a jar\nAnswer:", d.items().get(0).context());
        assertEquals(List.of("Twist the lid.", "Hit the lid."), d.items().get(0).choices());
        assertEquals(0, d.items().get(0).label());
        assertEquals(1, d.items().get(1).label());

        Files.writeString(tmp.resolve("valid-labels.lst"), "0\n");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Piqa.load(f));
        assertTrue(e.getMessage().contains("has 1 labels, the data file has 2 lines"), e.getMessage());
        Files.writeString(tmp.resolve("valid-labels.lst"), "0\n2\n");
        e = assertThrows(ModelFormatException.class, () -> Piqa.load(f));
        assertTrue(e.getMessage().contains("line 2: label '2' is not 0 or 1"), e.getMessage());

        Path g = tmp.resolve("hub.jsonl");
        Files.writeString(g, "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\", \"label\": 1}\n");
        assertEquals(1, Piqa.load(g).items().get(0).label());
        Path h = tmp.resolve("nolabels.jsonl");
        Files.writeString(h, "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n");
        e = assertThrows(ModelFormatException.class, () -> Piqa.load(h));
        assertTrue(e.getMessage().contains("line 1: no 'label', and no label file"), e.getMessage());
        Path k = tmp.resolve("bad.jsonl");
        Files.writeString(k, "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\", \"label\": 1}\n{\"goal\": \"g\", \"sol1\": \"a\", \"label\": 0}\n");
        e = assertThrows(ModelFormatException.class, () -> Piqa.load(k));
        assertEquals(k + ": line 2: no field 'sol2'", e.getMessage());
        assertEquals(1, Piqa.load(k, null, true).skipped());
    }

    @Test
    void realPiqaValidationSplit() {
        Path f = realPiqa();
        assumeTrue(f != null, "the PIQA validation split is not present");
        McDataset d = Piqa.load(f);
        assertEquals(1838, d.items().size());
        long ones = d.items().stream().filter(i -> i.label() == 1).count();
        assertTrue(ones > 800 && ones < 1038, "label balance " + ones);
        assertEquals("Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:", d.items().get(0).context());
        assertEquals(0, d.skipped());
    }

    /** {@code ../shared/data/piqa/valid.jsonl} beside the repository (looked for upwards, so worktrees find it too). */
    static Path realPiqa() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path f = d.resolve("shared/data/piqa/valid.jsonl");
            if (Files.isRegularFile(f)) return f;
        }
        return null;
    }

    private static String med(int cop) {
        return "{\"id\": \"x\", \"question\": \"Which vitamin?\", \"exp\": null, \"cop\": " + cop
                + ", \"opa\": \"A1\", \"opb\": \"B1\", \"opc\": \"C1\", \"opd\": \"D1\", \"subject_name\": \"Biochemistry\", \"choice_type\": \"single\"}";
    }

    @Test
    void medmcqaDetectsTheCopBase() throws Exception {
        Path orig = tmp.resolve("dev.json");
        Files.writeString(orig, med(1) + "\n" + med(4) + "\n" + med(2) + "\n");
        McDataset d = MedMcqa.load(orig);
        assertTrue(d.note().contains("1-based"), d.note());
        assertEquals(List.of(0, 3, 1), d.items().stream().map(MultipleChoiceItem::label).toList());
        assertEquals("Question: Which vitamin?\nChoices:\nA. A1\nB. B1\nC. C1\nD. D1\nAnswer:", d.items().get(0).context());
        assertEquals(List.of("A", "B", "C", "D"), d.items().get(0).choices());

        Path hub = tmp.resolve("validation.jsonl");
        Files.writeString(hub, med(0) + "\n" + med(3) + "\n" + med(2) + "\n");
        d = MedMcqa.load(hub);
        assertTrue(d.note().contains("0-based"), d.note());
        assertEquals(List.of(0, 3, 2), d.items().stream().map(MultipleChoiceItem::label).toList());

        Path amb = tmp.resolve("amb.jsonl");
        Files.writeString(amb, med(1) + "\n" + med(3) + "\n");
        d = MedMcqa.load(amb);
        assertTrue(d.note().contains("ambiguous"), d.note());
        assertEquals(List.of(0, 2), d.items().stream().map(MultipleChoiceItem::label).toList());
        assertEquals(List.of(1, 3), MedMcqa.load(amb, MedMcqa.CopBase.ZERO, false).items().stream().map(MultipleChoiceItem::label).toList());

        Path both = tmp.resolve("both.jsonl");
        Files.writeString(both, med(0) + "\n" + med(4) + "\n");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> MedMcqa.load(both));
        assertTrue(e.getMessage().startsWith(both + ": line 2: cop 4, but line 1 has cop 0"), e.getMessage());

        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, med(1) + "\n" + med(7) + "\n" + med(2).replace("\"cop\": 2", "\"cop\": \"two\"") + "\n");
        e = assertThrows(ModelFormatException.class, () -> MedMcqa.load(bad));
        assertEquals(bad + ": line 2: cop 7 is outside 0..4", e.getMessage());
        d = MedMcqa.load(bad, MedMcqa.CopBase.AUTO, true);
        assertEquals(1, d.items().size());
        assertEquals(2, d.skipped());
    }

    @Test
    void pileJsonlZstIsStreamed() throws Exception {
        Path f = tmp.resolve("00.jsonl.zst");
        try (OutputStream o = new ZstdOutputStream(Files.newOutputStream(f))) {
            for (int i = 0; i < 1000; i++) {
                o.write(("{\"text\": \"document " + i + "\\nwith two lines\", \"meta\": {\"pile_set_name\": \"Pile-CC\"}}\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        assertTrue(Files.size(f) < 20_000);
        List<String> docs = TextDocuments.read(f, 3);
        assertEquals(List.of("document 0\nwith two lines", "document 1\nwith two lines", "document 2\nwith two lines"), docs);
        assertEquals(1000, TextDocuments.read(f, 0).size());

        Path bad = tmp.resolve("bad.jsonl.zst");
        try (OutputStream o = new ZstdOutputStream(Files.newOutputStream(bad))) {
            o.write("{\"text\": \"fine\"}\n{\"txt\": \"no\"}\n".getBytes(StandardCharsets.UTF_8));
        }
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> TextDocuments.read(bad, 0));
        assertEquals(bad + ": line 2: no string field 'text'", e.getMessage());
        Path notZstd = tmp.resolve("plain.jsonl.zst");
        Files.writeString(notZstd, "{\"text\": \"x\"}\n");
        assertThrows(ModelFormatException.class, () -> TextDocuments.read(notZstd, 0));
    }

    @Test
    void plainTextAndJsonLines() throws Exception {
        Path t = tmp.resolve("held.txt");
        Files.writeString(t, "First document\nstill first.\n\nSecond document.\n");
        assertEquals(List.of("First document\nstill first.", "Second document."), TextDocuments.read(t, 0));
        Path j = tmp.resolve("held.jsonl");
        Files.writeString(j, "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
        assertEquals(List.of("a"), TextDocuments.read(j, 1));
    }
}
