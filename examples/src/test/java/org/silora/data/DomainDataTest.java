package org.silora.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Invariants of the shipped medical and science files (no network: they are on the classpath). */
class DomainDataTest {
    private static final String PREFIX = "Which term matches this definition: ";

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void itemsHaveFourDistinctOptionsInSciqFields(String domain) {
        for (String split : List.of("valid", "test", "known")) {
            for (var n : PreparedData.jsonLines(domain + "-" + split + ".jsonl")) {
                List<String> keys = new ArrayList<>();
                n.fieldNames().forEachRemaining(keys::add);
                assertEquals(List.of("question", "distractor1", "distractor2", "distractor3", "correct_answer", "support"), keys);
            }
            for (WordNetDomains.McItem it : PreparedData.domainItems(domain, split)) {
                Set<String> lower = new HashSet<>();
                for (String o : it.options()) {
                    assertFalse(o.isBlank());
                    lower.add(o.toLowerCase(Locale.ROOT));
                }
                assertEquals(4, lower.size(), "options not distinct: " + it);
                assertTrue(it.question().startsWith(PREFIX) && it.question().endsWith("?"), it.question());
                assertEquals("", it.support());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void itemCounts(String domain) {
        int test = PreparedData.domainItems(domain, "test").size();
        assertTrue(test >= 300 && test <= WordNetDomains.MAX_TEST, domain + " test items: " + test);
        assertEquals(WordNetDomains.MAX_VALID, PreparedData.domainItems(domain, "valid").size());
        assertEquals(WordNetDomains.MAX_KNOWN, PreparedData.domainItems(domain, "known").size());
        assertEquals(domain.equals("medical") ? 500 : 358, test);
        assertEquals(domain.equals("medical") ? 3341 : 2082, PreparedData.domainText(domain).size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void testSynsetsAreHeldOutOfTheTrainingText(String domain) throws IOException {
        Map<String, List<String>> bySplit = new HashMap<>();   // split -> lemmas
        Set<String> keys = new HashSet<>();
        for (String[] row : splits()) {
            if (row[0].equals(domain)) {
                bySplit.computeIfAbsent(row[1], s -> new ArrayList<>()).add(row[4]);
                assertTrue(keys.add(row[3]), "synset listed twice: " + row[3]);
            }
        }
        List<WordNetDomains.McItem> test = PreparedData.domainItems(domain, "test");
        List<WordNetDomains.McItem> valid = PreparedData.domainItems(domain, "valid");
        List<WordNetDomains.McItem> known = PreparedData.domainItems(domain, "known");
        List<String> text = PreparedData.domainText(domain);
        assertEquals(test.size(), bySplit.get("test").size());
        assertEquals(valid.size(), bySplit.get("train+valid").size());
        assertEquals(known.size(), bySplit.get("train+known").size());
        assertEquals(text.size(), bySplit.get("train").size() + bySplit.get("train+valid").size()
                        + bySplit.get("train+known").size(), "one training line per train synset");
        int total = keys.size();
        int heldout = bySplit.get("test").size() + bySplit.get("heldout-unused").size();
        assertEquals(0.2, heldout / (double) total, 0.01);

        // no test definition appears anywhere in the training text; every valid definition does
        StringBuilder all = new StringBuilder();
        text.forEach(t -> all.append(t).append('\n'));
        String corpus = all.toString();
        for (WordNetDomains.McItem it : test) {
            String def = definition(it);
            assertFalse(corpus.contains(": " + def + "."), "test definition leaked into training text: " + def);
        }
        for (WordNetDomains.McItem it : valid) {
            assertTrue(corpus.contains(": " + definition(it)), "valid definition not in training text: " + it);
        }
        // the known-facts quiz asks about taught definitions, never the validation items' synsets
        Set<String> validAnswers = new HashSet<>();
        valid.forEach(it -> validAnswers.add(it.question()));
        for (WordNetDomains.McItem it : known) {
            assertTrue(corpus.contains(": " + definition(it)), "known definition not in training text: " + it);
            assertFalse(validAnswers.contains(it.question()), "known item repeats a validation item: " + it);
        }
    }

    @Test
    void domainsAreDisjoint() throws IOException {
        Map<String, String> domainOf = new HashMap<>();
        for (String[] row : splits()) {
            String prev = domainOf.put(row[3], row[0]);
            assertTrue(prev == null, row[3] + " in " + prev + " and " + row[0]);
        }
        assertEquals(4175 + 2602, domainOf.size());
    }

    private static String definition(WordNetDomains.McItem it) {
        String q = it.question();
        return q.substring(PREFIX.length(), q.length() - 1);
    }

    private static List<String[]> splits() throws IOException {
        List<String[]> rows = new ArrayList<>();
        try (InputStream in = DomainDataTest.class.getResourceAsStream("/silora/data/wordnet-splits.tsv")) {
            assertNotNull(in);
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            assertEquals("domain\tsplit\troot\tsynset\tlemma", r.readLine());
            String line;
            while ((line = r.readLine()) != null) {
                String[] f = line.split("\t");
                assertEquals(5, f.length, line);
                rows.add(f);
            }
        }
        return rows;
    }
}
