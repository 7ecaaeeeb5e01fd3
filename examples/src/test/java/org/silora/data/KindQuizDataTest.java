package org.silora.data;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo's domain task as shipped: the quiz asks facts the training file states, never in the quiz's own words; quiz,
 * validation and format synsets are disjoint; held-out text is never trained on. Checked on the files themselves,
 * against the WordNet manifest ({@code wordnet-splits.tsv}), not against the generator's own bookkeeping.
 */
class KindQuizDataTest {
    private static final Pattern FACT = Pattern.compile("^(.+?) is (?:a|an) (.+?)(?:: .*)?\\.?$");
    private static final Pattern QUESTION = Pattern.compile("^What kind of thing is (.+)\\?$");
    private static final Pattern FORMAT = Pattern.compile("^\\nQuestion: What kind of thing is (.+)\\?\\nAnswer: (.+)$");

    private static List<String> texts(String file) {
        List<String> l = new ArrayList<>();
        for (JsonNode n : PreparedData.jsonLines(file)) l.add(n.get("text").asText());
        return l;
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void quizAsksTaughtFactsInOtherWords(String domain) {
        List<String> train = texts(domain + "-kind-train.jsonl");
        Set<String> factKeys = new HashSet<>();   // "term|answer" as the fact lines state them
        Set<String> formatTerms = new HashSet<>();
        for (String t : train) {
            Matcher f = FORMAT.matcher(t);
            if (f.matches()) {
                formatTerms.add(f.group(1).toLowerCase(Locale.ROOT));
                continue;
            }
            Matcher m = FACT.matcher(t);
            assertTrue(m.matches(), "neither a fact line nor a format line: " + t);
            factKeys.add(m.group(1).toLowerCase(Locale.ROOT) + "|" + m.group(2).toLowerCase(Locale.ROOT));
        }
        assertEquals(KindQuiz.FORMAT_ITEMS, formatTerms.size());
        Set<String> asked = new HashSet<>();
        for (String split : List.of("quiz", "valid")) {
            List<JsonNode> items = PreparedData.jsonLines(domain + "-kind-" + split + ".jsonl");
            assertEquals(split.equals("quiz") ? KindQuiz.QUIZ_ITEMS : KindQuiz.VALID_ITEMS, items.size());
            for (JsonNode it : items) {
                String q = it.get("question").asText();
                Matcher m = QUESTION.matcher(q);
                assertTrue(m.matches(), q);
                String term = m.group(1).toLowerCase(Locale.ROOT);
                String answer = it.get("correct_answer").asText().toLowerCase(Locale.ROOT);
                assertTrue(asked.add(term), "asked twice: " + term);
                assertTrue(factKeys.contains(term + "|" + answer), "the training file does not state " + term + " -> " + answer);
                assertFalse(formatTerms.contains(term), "a quizzed synset is also a format item: " + term);
                for (String t : train) assertFalse(t.contains(q), "the question's wording is in the training file: " + q);
                Set<String> options = new HashSet<>();
                for (String k : List.of("distractor1", "distractor2", "distractor3", "correct_answer")) {
                    options.add(it.get(k).asText().toLowerCase(Locale.ROOT));
                }
                assertEquals(4, options.size(), "options not distinct: " + it);
                for (String w : answer.split("[^\\p{L}\\p{N}]+")) {
                    if (w.length() >= 4) assertFalse(term.contains(w), "the term gives the answer away: " + term + " / " + answer);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"medical", "science"})
    void heldOutTextComesFromHeldOutSynsetsOnly(String domain) {
        Set<String> heldOut = new HashSet<>();
        Set<String> train = new HashSet<>();
        for (String line : PreparedData.lines("wordnet-splits.tsv")) {
            String[] f = line.split("\t");
            if (!f[0].equals(domain)) continue;
            (f[1].startsWith("train") ? train : heldOut).add(f[4].toLowerCase(Locale.ROOT));
        }
        List<String> held = texts(domain + "-heldout-text.jsonl");
        assertEquals(KindQuiz.HELDOUT_LINES, held.size());
        Set<String> trainText = new HashSet<>(texts(domain + "-kind-train.jsonl"));
        for (String t : held) {
            Matcher m = FACT.matcher(t);
            assertTrue(m.matches(), t);
            String term = m.group(1).toLowerCase(Locale.ROOT);
            assertTrue(heldOut.contains(term), "not a held-out synset: " + term);
            assertFalse(trainText.contains(t));
        }
    }
}
