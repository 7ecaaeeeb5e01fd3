package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Wall seconds of each section of a bench run and the total ({@code section_seconds}): what each part of the bench
 * costs, so a slow run shows where its time went. Sections follow each other, so they add up to about the total.
 */
final class Laps {
    private final ObjectNode o;
    private final long start = System.nanoTime();
    private long last = start;

    Laps(ObjectMapper om) {
        o = om.createObjectNode();
    }

    /** Ends the section {@code name}: the time since the previous lap (or the start). */
    void lap(String name) {
        long now = System.nanoTime();
        o.put(name, (now - last) / 1e9);
        last = now;
    }

    /** The sections so far and {@code total}. */
    ObjectNode json() {
        o.put("total", (System.nanoTime() - start) / 1e9);
        return o;
    }
}
