package org.silora.hf;

import java.nio.file.Path;

/**
 * A checkpoint, configuration, tokenizer or adapter file that cannot be used as it is: malformed, hostile,
 * inconsistent or of an unsupported kind. The message is one line that names the file and the problem, so a
 * command line tool can print it as it is and exit non-zero.
 *
 * <pre>{@code
 * try (var ckpt = SafetensorsCheckpoint.open(dir)) { ... }
 * catch (ModelFormatException e) { System.err.println("error: " + e.getMessage()); }
 * }</pre>
 */
public class ModelFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(String message) {
        super(message == null ? null : Messages.oneLine(message));
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message == null ? null : Messages.oneLine(message), cause);
    }

    /** {@code "<file>: <problem>"}, the one form every reader uses. */
    public static ModelFormatException of(Path file, String problem) {
        return new ModelFormatException(file + ": " + problem);
    }

    public static ModelFormatException of(Path file, String problem, Throwable cause) {
        return new ModelFormatException(file + ": " + problem, cause);
    }
}
