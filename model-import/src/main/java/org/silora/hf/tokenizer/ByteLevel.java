package org.silora.hf.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The GPT-2 byte-level pre-tokenizer as the Rust {@code tokenizers} library implements it
 * ({@code "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}}): split the text
 * with the GPT-2 regex, then spell every piece's UTF-8 bytes with one printable character per byte.
 */
final class ByteLevel {

    /**
     * The GPT-2 split. {@code \s} must be Unicode white space (Oniguruma's), hence {@code UNICODE_CHARACTER_CLASS}.
     */
    static final Pattern GPT2_SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** byte (0..255) -> the character that spells it. */
    static final char[] BYTE_TO_CHAR = byteToChar();

    private ByteLevel() {
    }

    /**
     * GPT-2's {@code bytes_to_unicode}: the printable Latin-1 bytes stand for themselves, the other 68 bytes are
     * shifted to U+0100 and up in byte order.
     */
    private static char[] byteToChar() {
        char[] map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char) b : (char) (256 + next++);
        }
        return map;
    }

    /** The regex pieces of {@code text}, in order; their concatenation is {@code text}. */
    static List<String> split(CharSequence text) {
        List<String> pieces = new ArrayList<>();
        Matcher m = GPT2_SPLIT.matcher(text);
        while (m.find()) {
            pieces.add(m.group());
        }
        return pieces;
    }

    /** The byte-level spelling of {@code piece}: one char per UTF-8 byte. */
    static String spell(String piece) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }
}
