package org.silora.data;

import java.util.List;
import java.util.Random;

/**
 * Seeded shuffling with a fixed algorithm (Fisher-Yates over {@link Random#nextInt(int)}, whose
 * sequence the Java specification fixes), so prepared files are identical on every JDK.
 */
final class Seeded {
    private Seeded() {
    }

    static <T> void shuffle(List<T> list, Random rnd) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }
}
