package org.silora.hf;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes files atomically: the bytes go to a temporary file in the target's folder, which is then
 * renamed over the target, so a reader never sees a half-written file and an interrupted run leaves
 * the previous version in place.
 *
 * <pre>{@code
 * AtomicFiles.write(out.resolve("brown-train.jsonl"), os -> os.write(bytes));
 * AtomicFiles.writeString(out.resolve("README.txt"), "hello\n");
 * }</pre>
 */
public final class AtomicFiles {

    /** Produces the content of a file. */
    @FunctionalInterface
    public interface Writer {
        /** Writes the whole content to {@code out}. */
        void writeTo(OutputStream out) throws IOException;
    }

    private AtomicFiles() {
    }

    /** Writes {@code target} atomically with the content produced by {@code writer}; creates parent folders. */
    public static void write(Path target, Writer writer) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            try (OutputStream os = Files.newOutputStream(tmp)) {
                writer.writeTo(os);
            }
            makeReadable(tmp);
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Gives a finished temporary file the usual {@code rw-r--r--} (temporary files are created owner-only), before it
     * is renamed into place.
     */
    public static void makeReadable(Path tmp) throws IOException {
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: keep the default permissions
        }
    }

    /** Writes {@code text} as UTF-8, atomically. */
    public static void writeString(Path target, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        write(target, os -> os.write(bytes));
    }

    /** Like {@link #writeString} but wraps the {@link IOException}. */
    public static void writeStringUnchecked(Path target, String text) {
        try {
            writeString(target, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
