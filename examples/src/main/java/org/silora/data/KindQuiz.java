package org.silora.data;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * The demo's domain task: facts of one WordNet domain stated as text, and a quiz that asks them back in other words.
 *
 * <p>Each train synset of {@link WordNetDomains} gives one <em>fact line</em>, "Femur is a leg bone: the longest and
 * thickest bone of the human skeleton." (first word, first hypernym, the definition up to its first semicolon). The quiz asks
 * "What kind of thing is femur?" with the hypernym's first word as the answer; the wording of a quiz question never
 * appears in any training file, only its fact does, as a fact line. The question format is learned from other
 * synsets: the training file also holds {@value #FORMAT_ITEMS} question/answer lines ("Question: What kind of thing
 * is tibia?\nAnswer: leg bone") about synsets that are neither quizzed nor used for validation.
 *
 * <p>Procedure (deterministic from the seed), on the train synsets whose first hypernym is inside the domain:
 * <ol>
 *   <li>shuffle them; the first {@value #QUIZ_ITEMS} whose names contain no word (4+ letters) of the answer and that were not asked about under another synset and that get three distractors are quiz items, the next
 *       {@value #VALID_ITEMS} validation items (for choosing φ and λ), the next {@value #FORMAT_ITEMS} format
 *       items;</li>
 *   <li>distractors: first words of hypernyms of other domain synsets, drawn at random, distinct from each other and
 *       from the answer (ignoring case), never an ancestor (hypernym closure) of the quizzed synset, nor one of its
 *       hyponyms, nor sharing a word with any of its names;</li>
 *   <li>{@code train}: the fact lines of the quiz and validation synsets plus the format items' question/answer
 *       lines, shuffled; {@code heldoutText}: the fact lines of {@value #HELDOUT_LINES} held-out synsets (never in
 *       any training file), for domain perplexity.</li>
 * </ol>
 *
 * <pre>{@code
 * KindQuiz.Prepared k = KindQuiz.prepare(wn, WordNetDomains.prepare(wn, WordNetDomains.MEDICAL, Set.of(), 31), 41);
 * k.quiz().get(0).question();   // "What kind of thing is femur?"
 * }</pre>
 */
public final class KindQuiz {
    /** Quiz items per domain. */
    public static final int QUIZ_ITEMS = 500;
    /** Validation items per domain (facts taught, asked in the quiz's wording; disjoint from the quiz). */
    public static final int VALID_ITEMS = 80;
    /** Question/answer lines in the training file that teach the format (synsets neither quizzed nor validated). */
    public static final int FORMAT_ITEMS = 120;
    /** Held-out fact lines for domain perplexity. */
    public static final int HELDOUT_LINES = 120;
    /** The quiz's question, also the format lines' question. */
    public static final String QUESTION = "What kind of thing is %s?";

    /** What {@link #prepare} produced. */
    public record Prepared(String domain, List<String> train, List<WordNetDomains.McItem> quiz,
                           List<WordNetDomains.McItem> valid, List<String> heldoutText) {
    }

    private KindQuiz() {
    }

    /** The fact line of one synset whose first hypernym is {@code hyper}. */
    public static String factLine(WordNet.Synset s, WordNet.Synset hyper) {
        StringBuilder sb = new StringBuilder(WordNetDomains.capitalize(s.lemma())).append(" is ")
                .append(WordNetDomains.article(hyper.lemma())).append(' ').append(hyper.lemma());
        String def = s.definition();
        int semi = def.indexOf(';');
        if (semi > 0) def = def.substring(0, semi).strip();   // the gloss's first clause: a short line per fact
        if (!def.isEmpty()) sb.append(": ").append(def);
        char last = sb.charAt(sb.length() - 1);
        if (last != '.' && last != '!' && last != '?') sb.append('.');
        return sb.toString();
    }

    /** A format line: exactly the quiz's prompt (lm-evaluation-harness's SciQ prompt, empty support) and the answer. */
    public static String formatLine(String term, String answer) {
        return "\nQuestion: " + String.format(Locale.ROOT, QUESTION, term) + "\nAnswer: " + answer;
    }

    /** Builds the task from a prepared domain (its train/held-out split), deterministically from {@code seed}. */
    public static Prepared prepare(WordNet wn, WordNetDomains.Prepared domain, long seed) {
        Set<Long> inDomain = domain.memberOffsets();
        List<WordNet.Synset> train = new ArrayList<>();
        List<WordNet.Synset> heldout = new ArrayList<>();
        for (WordNetDomains.Member m : domain.members()) {
            WordNet.Synset s = m.synset();
            if (s.hypernyms().isEmpty() || !inDomain.contains(s.hypernyms().get(0))) continue;
            (m.split().startsWith("train") ? train : heldout).add(s);
        }
        // the pool of answers: first words of the domain's hypernyms
        Map<String, Long> pool = new java.util.TreeMap<>();
        for (WordNet.Synset s : train) {
            WordNet.Synset h = wn.synset(s.hypernyms().get(0));
            pool.putIfAbsent(h.lemma().toLowerCase(Locale.ROOT), h.offset());
        }
        List<String> poolNames = new ArrayList<>(pool.keySet());
        Random rnd = new Random(seed);
        Seeded.shuffle(train, rnd);
        List<WordNetDomains.McItem> quiz = new ArrayList<>();
        List<WordNetDomains.McItem> valid = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        int format = 0;
        Set<String> used = new HashSet<>();   // a name asked about once only (WordNet has synsets sharing a first word)
        for (WordNet.Synset s : train) {
            if (format == FORMAT_ITEMS) break;
            WordNet.Synset h = wn.synset(s.hypernyms().get(0));
            if (givesAway(s, h) || used.contains(s.lemma().toLowerCase(Locale.ROOT))) continue;
            List<String> d = distractors(wn, s, h, poolNames, pool, rnd);
            if (d == null) continue;
            String term = s.lemma();
            used.add(term.toLowerCase(Locale.ROOT));
            if (quiz.size() < QUIZ_ITEMS || valid.size() < VALID_ITEMS) {
                WordNetDomains.McItem item = new WordNetDomains.McItem(String.format(Locale.ROOT, QUESTION, term),
                        d.get(0), d.get(1), d.get(2), h.lemma(), "");
                (quiz.size() < QUIZ_ITEMS ? quiz : valid).add(item);
                lines.add(factLine(s, h));
            } else {
                lines.add(formatLine(term, h.lemma()));
                format++;
            }
        }
        if (quiz.size() < QUIZ_ITEMS || valid.size() < VALID_ITEMS || format < FORMAT_ITEMS) {
            throw new IllegalStateException(domain.domain().name() + ": too few askable synsets for the kind quiz");
        }
        Seeded.shuffle(lines, rnd);
        Seeded.shuffle(heldout, rnd);
        List<String> held = new ArrayList<>();
        for (WordNet.Synset s : heldout) {
            if (held.size() == HELDOUT_LINES) break;
            if (!s.definition().isEmpty()) held.add(factLine(s, wn.synset(s.hypernyms().get(0))));
        }
        return new Prepared(domain.domain().name(), List.copyOf(lines), List.copyOf(quiz), List.copyOf(valid), List.copyOf(held));
    }

    /**
     * Whether a name of the synset contains a word (4+ letters) of the answer, even inside a longer word: "jugular vein"
     * for "internal jugular vein", "thiazine" for "phenothiazine".
     */
    static boolean givesAway(WordNet.Synset s, WordNet.Synset answer) {
        for (String l : s.lemmas()) {
            String name = l.toLowerCase(Locale.ROOT);
            for (String w : answer.lemma().toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
                if (w.length() >= 4 && name.contains(w)) return true;
            }
        }
        return false;
    }

    private static List<String> distractors(WordNet wn, WordNet.Synset s, WordNet.Synset answer, List<String> poolNames,
                                            Map<String, Long> pool, Random rnd) {
        Set<Long> ancestors = new TreeSet<>();
        List<Long> frontier = new ArrayList<>(s.hypernyms());
        while (!frontier.isEmpty()) {
            long o = frontier.remove(frontier.size() - 1);
            if (ancestors.add(o)) frontier.addAll(wn.synset(o).hypernyms());
        }
        Set<Long> hyponyms = new HashSet<>(s.hyponyms());
        Set<String> words = new HashSet<>();
        for (String l : s.lemmas()) {
            for (String w : l.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) if (!w.isEmpty()) words.add(w);
        }
        Set<String> chosen = new java.util.LinkedHashSet<>();
        String ans = answer.lemma().toLowerCase(Locale.ROOT);
        for (int tries = 0; tries < 200 && chosen.size() < 3; tries++) {
            String c = poolNames.get(rnd.nextInt(poolNames.size()));
            long o = pool.get(c);
            if (c.equals(ans) || ancestors.contains(o) || hyponyms.contains(o) || o == s.offset() || chosen.contains(c)) continue;
            boolean shares = false;
            for (String w : c.split("[^\\p{L}\\p{N}]+")) if (words.contains(w)) shares = true;
            if (!shares) chosen.add(c);
        }
        if (chosen.size() < 3) return null;
        List<String> out = new ArrayList<>();
        for (String c : chosen) out.add(wn.synset(pool.get(c)).lemma());
        return out;
    }
}
