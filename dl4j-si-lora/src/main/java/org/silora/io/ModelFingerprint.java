package org.silora.io;

import org.silora.hf.ModelFormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A short identity of a base model folder, recorded in every adapter and importance file and checked on load:
 * SHA-256 over {@code config.json} and, for every {@code *.safetensors} file (sorted by name), its name, size and
 * header (which lists every tensor's dtype, shape and byte range). Reading headers only keeps it instant for
 * multi-GB checkpoints while any change of architecture, shapes or tensor layout changes it.
 *
 * <pre>{@code
 * String id = ModelFingerprint.of(Path.of("models/tiny-llama"));   // "sha256:3f1c..."
 * }</pre>
 */
public final class ModelFingerprint {

    private ModelFingerprint() {
    }

    public static String of(Path modelDir) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(Files.readAllBytes(modelDir.resolve("config.json")));
            List<Path> files;
            try (Stream<Path> s = Files.list(modelDir)) {
                files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            for (Path f : files) {
                md.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                long size = Files.size(f);
                md.update(ByteBuffer.allocate(8).putLong(size).array());
                try (FileChannel ch = FileChannel.open(f)) {
                    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                    if (ch.read(len, 0) == 8) {
                        long n = len.flip().getLong();
                        if (n > 0 && n <= Math.min(size - 8, 100_000_000L)) {
                            ByteBuffer header = ByteBuffer.allocate((int) n);
                            ch.read(header, 8);
                            md.update(header.flip());
                        }
                    }
                }
            }
            return "sha256:" + HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw ModelFormatException.of(modelDir, "cannot fingerprint the base model: " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
