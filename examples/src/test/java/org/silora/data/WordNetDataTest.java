package org.silora.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The WordNet database parser on hand-written lines in the real {@code data.noun} format. */
class WordNetDataTest {
    static final String HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
            + "  2 Princeton University under the following license.  \n";
    static final String MUSCLE = "05296796 08 n 02 muscle 0 musculus 0 004 @ 05297100 n 0000 ~ 05297360 n 0000 "
            + "~ 05299967 n 0000 %p 05466808 n 0000 | one of the contractile organs of the body; "
            + "\"he pulled a muscle\"; \"the musculus is strong\"  ";
    static final String BICEPS = "05297360 08 n 02 biceps 0 biceps_brachii 0 002 @ 05296796 n 0000 "
            + "+ 01234567 a 0102 | a muscle in the upper arm that flexes the forearm  ";
    static final String DELTOID = "05299967 08 n 01 deltoid 0 002 @i 05296796 n 0000 ~ 05300001 n 0000 "
            + "| a large triangular muscle covering the shoulder joint  ";
    static final String LEAF = "05300001 08 n 01 anterior_deltoid 0 001 @ 05299967 n 0000 | (anatomy) the front "
            + "part; used in \"raising\" the arm  ";
    static final String ORGAN = "05297100 08 n 01 contractile_organ 0 001 ~ 05296796 n 0000 | an organ that contracts  ";
    static final String VERB = "00001740 29 v 04 breathe 0 take_a_breath 0 respire 0 suspire 3 002 "
            + "@ 00002084 v 0000 ~ 00002724 v 0000 02 + 02 00 + 08 00 | draw air into, and expel out of, the lungs; "
            + "\"I can breathe better when the air is clean\"  ";

    @Test
    void parsesWordsPointersAndGloss() {
        WordNet.Synset s = WordNet.parseLine(MUSCLE);
        assertEquals(5296796L, s.offset());
        assertEquals(8, s.lexFilenum());
        assertEquals('n', s.ssType());
        assertEquals(List.of("muscle", "musculus"), s.words());
        assertEquals(4, s.pointers().size());
        assertEquals(new WordNet.Pointer("%p", 5466808L, 'n', 0, 0), s.pointers().get(3));
        assertEquals(List.of(5297100L), s.hypernyms());
        assertEquals(List.of(5297360L, 5299967L), s.hyponyms());
        assertEquals("one of the contractile organs of the body; \"he pulled a muscle\"; \"the musculus is strong\"",
                s.gloss());
        assertEquals("one of the contractile organs of the body", s.definition());
        assertEquals("05296796-n", s.key());
    }

    @Test
    void multiWordLemmasSourceTargetAndInstancePointers() {
        WordNet.Synset b = WordNet.parseLine(BICEPS);
        assertEquals(List.of("biceps", "biceps brachii"), b.lemmas());
        assertEquals(new WordNet.Pointer("+", 1234567L, 'a', 1, 2), b.pointers().get(1));
        assertEquals(List.of(5296796L), b.hypernyms(), "the adjective pointer is not a hypernym");
        WordNet.Synset d = WordNet.parseLine(DELTOID);
        assertEquals(List.of(5296796L), d.hypernyms(), "@i counts as a hypernym");
        assertEquals("anterior deltoid", WordNet.parseLine(LEAF).lemma());
        assertEquals("(anatomy) the front part; used in \"raising\" the arm", WordNet.parseLine(LEAF).definition(),
                "quotes inside the definition are not examples");
    }

    @Test
    void verbFramesAndHexWordCount() {
        WordNet.Synset v = WordNet.parseLine(VERB);
        assertEquals(4, v.words().size());
        assertEquals("suspire", v.words().get(3));
        assertEquals("draw air into, and expel out of, the lungs", v.definition());
        String many = "00000001 03 n 0b a 0 b 0 c 0 d 0 e 0 f 0 g 0 h 0 i 0 j 0 k 0 000 | eleven words  ";
        assertEquals(11, WordNet.parseLine(many).words().size());
    }

    @Test
    void malformedLinesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> WordNet.parseLine("05296796 08 x 01 muscle 0 000 | bad type"));
        assertThrows(IllegalArgumentException.class, () -> WordNet.parseLine("05296796 08 n 01 muscle 0 002 @ 05297100 n 0000 | too few pointers"));
        assertThrows(IllegalArgumentException.class, () -> WordNet.parseLine("05296796 08 n 01 muscle 0 000 extra | extra field"));
        assertThrows(IllegalArgumentException.class, () -> WordNet.parseLine("abc 08 n 01 muscle 0 000 | bad offset"));
    }

    @Test
    void loadsFileWithHeaderAndWalksHyponyms(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("data.noun");
        Files.writeString(f, HEADER + String.join("\n", ORGAN, MUSCLE, BICEPS, DELTOID, LEAF) + "\n");
        WordNet wn = WordNet.load(f);
        assertEquals(5, wn.synsets().size());
        assertTrue(wn.licenseHeader().startsWith("This software and database is being provided"));
        assertEquals(Set.of(5296796L, 5297360L, 5299967L, 5300001L), wn.hyponymClosure(5296796L));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> wn.synset(1L));
        assertTrue(e.getMessage().contains("00000001"));
        Files.writeString(f, HEADER + ORGAN + "\n05296796 08 n 01 muscle\n");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> WordNet.load(f));
        assertTrue(bad.getMessage().contains("data.noun:4"), bad.getMessage());
    }

    @Test
    void sentenceFromSynset(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("data.noun");
        Files.writeString(f, String.join("\n", ORGAN, MUSCLE, BICEPS, DELTOID, LEAF) + "\n");
        WordNet wn = WordNet.load(f);
        assertEquals("Biceps is a muscle: a muscle in the upper arm that flexes the forearm. "
                + "A muscle in the upper arm that flexes the forearm is called biceps. "
                + "It is also called biceps brachii.", WordNetDomains.sentence(wn, wn.synset(5297360L)));
        assertEquals("Muscle is a contractile organ: one of the contractile organs of the body. "
                + "One of the contractile organs of the body is called muscle. It is also called "
                + "musculus. Kinds of muscle include biceps and deltoid.", WordNetDomains.sentence(wn, wn.synset(5296796L)));
        assertTrue(WordNetDomains.askable(wn.synset(5297360L)));
        assertTrue(WordNetDomains.askable(wn.synset(5299967L)));
        assertFalse(WordNetDomains.askable(wn.synset(5297100L)), "'an organ that contracts' gives away 'contractile organ'");
    }
}
