package org.silora.hf.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training speed on ~1.2M words with a realistic number of distinct words (Zipf over 50k made-up words, plus the
 * paper text). Off by default; run with {@code -Dsilora.perf=true}.
 */
@EnabledIfSystemProperty(named = "silora.perf", matches = "true")
class BpeTrainerPerfTest {

    @TempDir
    Path tmp;

    static List<String> corpus(int totalWords) {
        String[] syl = ("the an re in ter con ing tion al ed er es st ou ar or en de ment pro com ly ic ble ate"
                + " ive ous ful ness less pre dis un sub ex im per ca ma lo ri ta ne vi so mo pa gu zu fe ko")
                .split(" ");
        Random rnd = new Random(42);
        int distinct = 50_000;
        String[] words = new String[distinct];
        for (int i = 0; i < distinct; i++) {
            StringBuilder w = new StringBuilder();
            int n = 1 + rnd.nextInt(4);
            for (int j = 0; j < n; j++) {
                w.append(syl[rnd.nextInt(syl.length)]);
            }
            words[i] = rnd.nextInt(10) == 0 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w.toString();
        }
        double[] cdf = new double[distinct];
        double sum = 0;
        for (int i = 0; i < distinct; i++) {
            sum += 1.0 / (i + 1);
            cdf[i] = sum;
        }
        List<String> texts = new ArrayList<>();
        int count = 0;
        for (int r = 0; r < 20; r++) {
            for (String line : TestCorpus.texts()) {
                texts.add(line);
                count += line.split("\\s+").length;
            }
        }
        while (count < totalWords) {
            StringBuilder line = new StringBuilder();
            for (int k = 0; k < 12; k++) {
                int idx = Arrays.binarySearch(cdf, rnd.nextDouble() * sum);
                line.append(words[idx < 0 ? -idx - 1 : idx]).append(k == 11 ? ". " : k % 5 == 4 ? ", " : " ");
            }
            texts.add(line.toString());
            count += 12;
        }
        return texts;
    }

    @Test
    void trainsAMillionWordsQuickly() {
        List<String> texts = corpus(1_200_000);
        for (int vocab : new int[] {4096, 8192}) {
            long t0 = System.nanoTime();
            BpeTrainer.train(texts, BpeTrainer.Options.llama(vocab), tmp.resolve("v" + vocab));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("BpeTrainerPerfTest: 1.2M words -> %d tokens in %d ms%n", vocab, ms);
            assertTrue(ms < 60_000, ms + " ms");
        }
    }
}
