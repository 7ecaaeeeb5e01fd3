package org.silora.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** {@link Messages}: whatever text goes in, one line comes out, and what the reader needs is kept. */
class MessagesTest {

    @Test
    void everyKindOfLineBreakWithItsBlanksBecomesOneSpace() {
        assertEquals("a b c d e f", Messages.oneLine("a\nb\r\nc\rd\u0085e\u2028\u2029f"));
        assertEquals("first second", Messages.oneLine("first  \n\n\t  second"));
        assertEquals("keeps  inner\tblanks", Messages.oneLine("keeps  inner\tblanks"), "blanks within a line stay");
    }

    @Test
    void endsAreTrimmedAndNullIsEmpty() {
        assertEquals("x", Messages.oneLine("\n  x \r\n"));
        assertEquals("", Messages.oneLine((String) null));
        assertEquals("", Messages.oneLine("\r\n"));
    }

    @Test
    void aCutKeepsTheFirstCharactersAndSaysItCut() {
        String long400 = "y".repeat(400);
        assertEquals("y".repeat(10) + "...", Messages.oneLine(long400, 10));
        assertEquals("short", Messages.oneLine("short", 10), "nothing cut below the limit");
        assertEquals("a b", Messages.oneLine("a\nb", 3), "the limit counts the flattened text");
        assertThrows(IllegalArgumentException.class, () -> Messages.oneLine("x", -1));
    }

    @Test
    void anExceptionGivesItsMessageElseItsCausesElseItsClassName() {
        assertEquals("disk full", Messages.oneLine(new IOException("disk full")));
        assertEquals("bad header", Messages.oneLine(new RuntimeException((String) null, new IOException("bad header"))));
        assertEquals("EOFException", Messages.oneLine(new EOFException()));
        assertEquals("EOFException", Messages.oneLine(new EOFException(" \n ")), "a blank message says nothing");
    }

    @Test
    void aWrappedMessageIsOneLineAndCutAtTheWrappedLimit() {
        String m = Messages.oneLine(new IllegalStateException("line\n".repeat(1000)));
        assertFalse(m.contains("\n") || m.contains("\r"), m);
        assertEquals(Messages.MAX_WRAPPED + "...".length(), m.length());
        assertTrue(m.startsWith("line line "), m);
    }

    @Test
    void modelFormatExceptionMessagesAreOneLine() {
        ModelFormatException e = ModelFormatException.of(Path.of("dir", "config.json"), "bad value\n\"x\"\r\nhere");
        assertEquals(Path.of("dir", "config.json") + ": bad value \"x\" here", e.getMessage());
    }
}
