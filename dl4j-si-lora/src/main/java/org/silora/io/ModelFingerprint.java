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
 * SHA-256 over {@code config.json} and, for every {@code *.safetensors} file (sorted by name), its name, size,
 * header (every tensor's dtype, shape and byte range) and weights: all bytes of a file up to
 * {@value #FULL_HASH_LIMIT} bytes, and beyond that {@value #SAMPLES} blocks of 4 KiB spread evenly over the file,
 * so a multi-GB checkpoint is fingerprinted in well under a second while two models of the same architecture with
 * different weights (a fine-tuned variant, another seed) still differ.
 *
 * <pre>{@code
 * String id = ModelFingerprint.of(Path.of("models/tiny-llama"));   // "sha256:3f1c..."
 * }</pre>
 */
public final class ModelFingerprint {

    static final long FULL_HASH_LIMIT = 256L << 20;
    static final int SAMPLES = 4096;

    private ModelFingerprint() {
    }

    private static void hashContent(FileChannel ch, long size, MessageDigest md) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        if (size <= FULL_HASH_LIMIT) {
            long pos = 0;
            while (pos < size) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n <= 0) break;
                md.update(buf.flip());
                pos += n;
            }
            return;
        }
        ByteBuffer block = ByteBuffer.allocate(4096);
        long stride = size / SAMPLES;
        for (int i = 0; i < SAMPLES; i++) {
            block.clear();
            ch.read(block, i * stride);
            md.update(block.flip());
        }
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
                    hashContent(ch, size, md);
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
