package org.silora.data;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Brown detokenizer on hand-written tagged snippets, and the shipped Brown files. */
class BrownDataTest {

    @Test
    void stripsTagsAndJoinsPunctuation() {
        String tagged = "\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at "
                + "investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd "
                + "``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.\n";
        assertEquals("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary "
                + "election produced \"no evidence\" that any irregularities took place.", BrownCorpus.untag(tagged));
    }

    @Test
    void quotesCommasAndQuestionMarks() {
        String tagged = "\t``/`` Only/rb a/at handful/nn ''/'' ,/, the/at jury/nn said/vbd ;/. ;/. "
                + "was/bedz it/pps enough/ap ?/. ?/.\n";
        // Brown writes some ';' and '?' twice (tagged '.'): both kept, attached
        assertEquals("\"Only a handful\", the jury said;; was it enough??", BrownCorpus.untag(tagged));
    }

    @Test
    void parenthesesDashesAndSingleQuotes() {
        List<String> words = List.of("He", "wrote", "(", "in", "1961", ")", "that", "'", "pro", "'", "letters",
                "--", "not", "'", "con", "'", "--", "won", ":", "50", "%", "!");
        assertEquals("He wrote (in 1961) that 'pro' letters -- not 'con' -- won: 50%!",
                Detokenizer.detokenize(words));
    }

    @Test
    void abbreviationBeforeSentenceFullStopKeepsOnePeriod() {
        assertEquals("It was won by Ivan Allen Jr.",
                BrownCorpus.untag("\tIt/pps was/bedz won/vbn by/in Ivan/np Allen/np Jr./np ./.\n"));
    }

    @Test
    void paragraphsAndHeadlines() {
        String tagged = "\n\n\tFirst/od sentence/nn ./.\nSecond/od one/cd ./.\n\n\n"
                + "Merger/nn-hl proposed/vbn-hl\n"
                + "However/rb ,/, the/at jury/nn agreed/vbd ./.\n\n";
        assertEquals("First sentence. Second one.\nMerger proposed\nHowever, the jury agreed.",
                BrownCorpus.untag(tagged));
    }

    @Test
    void tagSplitsAtTheLastSlash() {
        assertEquals("1/2", BrownCorpus.stripTag("1/2/cd"));
        assertEquals("wasn't", BrownCorpus.stripTag("wasn't/bedz*"));
        assertThrows(IllegalArgumentException.class, () -> BrownCorpus.stripTag("untagged"));
    }

    @Test
    void shippedBrownFilesCoverAllGenresWithDisjointDocuments() {
        List<BrownCorpus.Document> train = PreparedData.brown("train");
        List<BrownCorpus.Document> heldout = PreparedData.brown("heldout");
        assertEquals(500, train.size() + heldout.size());
        assertEquals(52, heldout.size());
        Set<String> ids = new HashSet<>();
        Set<String> heldoutGenres = new HashSet<>();
        Set<String> trainGenres = new HashSet<>();
        for (BrownCorpus.Document d : train) {
            assertTrue(ids.add(d.id()));
            trainGenres.add(d.genre());
            assertTrue(d.text().length() > 5000, d.id());
            assertTrue(!d.text().contains("/at ") && !d.text().contains("``"), d.id());
        }
        for (BrownCorpus.Document d : heldout) {
            assertTrue(ids.add(d.id()), "document in both splits: " + d.id());
            heldoutGenres.add(d.genre());
        }
        assertEquals(15, trainGenres.size());
        assertEquals(trainGenres, heldoutGenres);
    }
}
