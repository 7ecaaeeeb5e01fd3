package org.silora.data;

import java.util.Map;

/**
 * Minimal, deterministic JSON writing for the prepared JSON-lines files: keys keep their insertion
 * order, strings are escaped per RFC 8259 ({@code "}, {@code \}, control characters), non-ASCII is
 * written as UTF-8, and there is no whitespace between tokens.
 *
 * <pre>{@code
 * Map<String, String> m = new LinkedHashMap<>();
 * m.put("text", "He said \"hi\".");
 * String line = Json.object(m);   // {"text":"He said \"hi\"."}
 * }</pre>
 */
public final class Json {
    private Json() {
    }

    /** Returns {@code s} as a quoted JSON string. */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2);
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    /** Returns a one-line JSON object of string values, in the map's iteration order. */
    public static String object(Map<String, String> fields) {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, String> e : fields.entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append(quote(e.getKey())).append(':').append(quote(e.getValue()));
        }
        return sb.append('}').toString();
    }
}
