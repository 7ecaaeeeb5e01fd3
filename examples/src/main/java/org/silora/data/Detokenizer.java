package org.silora.data;

import java.util.List;
import java.util.Set;

/**
 * Turns Penn/Brown-style word tokens back into readable English.
 *
 * <p>Rules: tokens are joined by single spaces except that no space goes before
 * {@code , . ; : ! ? % ) ] } ''} and none after {@code ( [ { ``}; the Brown quote tokens
 * {@code ``} and {@code ''} both become {@code "}; a bare {@code '} token alternates between an
 * opening single quote (attached to the next token) and a closing one (attached to the previous
 * token), starting "open" at the start of each call, so call it once per paragraph.
 * {@code --} keeps its spaces. A {@code .} token right after a word ending in {@code .} (as in
 * {@code Jr. .}) is dropped. Words themselves are never changed.
 *
 * <pre>{@code
 * Detokenizer.detokenize(List.of("``", "Hello", "''", ",", "he", "said", "."));
 * // "Hello", he said.
 * }</pre>
 */
public final class Detokenizer {
    private static final Set<String> NO_SPACE_BEFORE =
            Set.of(",", ".", ";", ":", "!", "?", "%", ")", "]", "}");
    private static final Set<String> NO_SPACE_AFTER = Set.of("(", "[", "{");

    private Detokenizer() {
    }

    /** Detokenizes one paragraph's tokens (tags already removed). */
    public static String detokenize(List<String> tokens) {
        StringBuilder out = new StringBuilder();
        boolean attachNext = true; // no space before the first token
        boolean singleOpen = false;
        for (String w : tokens) {
            if (w.isEmpty()) {
                continue;
            }
            if (w.equals("``")) {
                space(out, attachNext);
                out.append('"');
                attachNext = true;
            } else if (w.equals("''")) {
                out.append('"');
                attachNext = false;
            } else if (w.equals("'")) {
                if (!singleOpen) {
                    space(out, attachNext);
                    out.append('\'');
                    attachNext = true;
                } else {
                    out.append('\'');
                    attachNext = false;
                }
                singleOpen = !singleOpen;
            } else if (w.equals(".") && out.length() > 0 && out.charAt(out.length() - 1) == '.') {
                attachNext = false; // "Jr." followed by the sentence's own "." stays "Jr."
            } else if (NO_SPACE_BEFORE.contains(w)) {
                out.append(w);
                attachNext = false;
            } else if (NO_SPACE_AFTER.contains(w)) {
                space(out, attachNext);
                out.append(w);
                attachNext = true;
            } else {
                space(out, attachNext);
                out.append(w);
                attachNext = false;
            }
        }
        return out.toString();
    }

    private static void space(StringBuilder out, boolean attachNext) {
        if (!attachNext && out.length() > 0) {
            out.append(' ');
        }
    }
}
