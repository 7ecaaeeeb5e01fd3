package org.silora.hf;

import java.util.regex.Pattern;

/**
 * The one way to put text of unknown shape into a one-line message: a parser's or a native library's message, a
 * piece of a hostile file, an exception to wrap. Bad input ends as one line on stderr (a command line tool prints
 * {@link ModelFormatException#getMessage()} as it is), so every line break such text may carry becomes a space here.
 *
 * <pre>{@code
 * try { Files.readString(file); }
 * catch (IOException e) { throw ModelFormatException.of(file, "cannot read: " + Messages.oneLine(e), e); }
 *
 * Messages.oneLine("line 1\r\n  line 2\n")             // "line 1 line 2"
 * Messages.oneLine(new IOException((String) null))     // "IOException"
 * Messages.oneLine(hugeJson.toString(), 300)           // at most 300 characters and "..."
 * }</pre>
 */
public final class Messages {
    /**
     * Longest part of a wrapped exception's message that is kept, in characters: a library's message can quote a whole
     * input (a tokenizer file, a JSON document), and the message it is wrapped into must stay readable.
     */
    public static final int MAX_WRAPPED = 300;

    /** Line breaks of every kind (CR, LF, NEL, LINE and PARAGRAPH SEPARATOR) with the blanks around them. */
    private static final Pattern BREAKS = Pattern.compile("[ \\t]*[\\r\\n\\u0085\\u2028\\u2029]+[\\s\\u0085\\u2028\\u2029]*");

    private Messages() {
    }

    /**
     * {@code text} on one line: each run of line breaks, with the blanks around it, becomes one space, and the ends
     * are trimmed. {@code null} gives the empty string. Nothing is cut.
     */
    public static String oneLine(String text) {
        if (text == null) {
            return "";
        }
        return BREAKS.matcher(text).replaceAll(" ").strip();
    }

    /**
     * {@code text} on one line as {@link #oneLine(String)}, cut after {@code maxChars} characters with {@code "..."}
     * appended where it was cut: for pieces of input a message quotes ({@code JsonNode.toString()} of a bad entry).
     */
    public static String oneLine(String text, int maxChars) {
        if (maxChars < 0) {
            throw new IllegalArgumentException("maxChars must be >= 0, got " + maxChars);
        }
        String flat = oneLine(text);
        return flat.length() > maxChars ? flat.substring(0, maxChars) + "..." : flat;
    }

    /**
     * An exception's message for wrapping into another message: its own message, else its cause's, else the simple
     * name of its class (so a message-less {@code EOFException} still says what happened); on one line and cut after
     * {@link #MAX_WRAPPED} characters.
     */
    public static String oneLine(Throwable e) {
        String msg = e.getMessage();
        if (isBlank(msg) && e.getCause() != null) {
            msg = e.getCause().getMessage();
        }
        return isBlank(msg) ? e.getClass().getSimpleName() : oneLine(msg, MAX_WRAPPED);
    }

    private static boolean isBlank(String s) {
        return s == null || oneLine(s).isEmpty();
    }
}
