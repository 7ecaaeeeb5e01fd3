package org.silora.si;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Token rows from a noisy deterministic chain, so a tiny model has something real to learn. */
public final class SiTestData {
    private SiTestData() {
    }

    public static List<int[]> chain(int vocab, int rows, int len, int mult, int add, long seed) {
        Random rnd = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            int[] w = new int[len];
            w[0] = rnd.nextInt(vocab);
            for (int i = 1; i < len; i++) {
                w[i] = rnd.nextDouble() < 0.1 ? rnd.nextInt(vocab) : (w[i - 1] * mult + add) % vocab;
            }
            out.add(w);
        }
        return out;
    }
}
