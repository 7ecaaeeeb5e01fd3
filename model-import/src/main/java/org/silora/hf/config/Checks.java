package org.silora.hf.config;

final class Checks {
    private Checks() {
    }

    static void positive(String key, int value) {
        if (value <= 0) throw new IllegalArgumentException(key + " must be positive, got " + value);
    }
}
