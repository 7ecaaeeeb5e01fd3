package org.silora.hf.safetensors;

import org.silora.hf.Messages;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes {@code .safetensors} files that the Python {@code safetensors} package loads. Tensors are streamed one
 * at a time (only one tensor's data is held at once) into a temporary file next to the target, which is fsynced and
 * then atomically renamed; on any failure the temporary file is deleted and no target is left.
 *
 * <pre>{@code
 * SafetensorsWriter.write(Path.of("adapter.safetensors"), Map.of("format", "pt"),
 *         List.of(new SafetensorsWriter.Entry("lora_A", DType.F32, new long[] {8, 4096}, () -> loraA)));
 * SafetensorsWriter.write(file, Map.of(), Map.of("w", w), DType.BF16);
 * }</pre>
 *
 * FLOAT data is converted to the entry's dtype with round-to-nearest-even (overflow gives infinity, NaN stays NaN).
 * Bad arguments are {@link IllegalArgumentException}s, I/O failures {@link UncheckedIOException}s; an exception
 * thrown by a supplier is passed on as it is.
 */
public final class SafetensorsWriter {
    private static final int BUFFER_BYTES = 1 << 20;

    private SafetensorsWriter() {
    }

    /**
     * One tensor to write; {@code data} is asked once, when the tensor's turn comes, for an array with
     * {@code numel(shape)} elements (any floating type, any layout; taken in c-order).
     */
    public record Entry(String name, DType dtype, long[] shape, Supplier<INDArray> data) {
        public Entry {
            if (name == null || name.isEmpty() || name.equals("__metadata__")) {
                throw new IllegalArgumentException("tensor name must be non-empty and not __metadata__: "
                        + Text.quote(name));
            }
            Objects.requireNonNull(dtype, "dtype");
            Objects.requireNonNull(shape, "shape");
            Objects.requireNonNull(data, "data");
            shape = shape.clone();
            new TensorInfo(name, dtype, shape, 0, numel(shape) * dtype.byteSize()); // checks dims and size
        }

        /** A copy of the shape. */
        @Override
        public long[] shape() {
            return shape.clone();
        }

        private static long numel(long[] shape) {
            long n = 1;
            for (long d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
                }
                try {
                    n = Math.multiplyExact(n, d);
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " is too large");
                }
            }
            try {
                Math.multiplyExact(n, 4L);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " is too large");
            }
            return n;
        }
    }

    /** Writes {@code entries} in order, with {@code metadata} as {@code __metadata__}. */
    public static void write(Path file, Map<String, String> metadata, List<Entry> entries) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(entries, "entries");
        byte[] header = header(file, metadata == null ? Map.of() : metadata, entries);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot create a temporary file: " + Messages.oneLine(e), e);
        }
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                buf.putLong(header.length);
                buf.flip();
                writeAll(ch, buf);
                writeAll(ch, ByteBuffer.wrap(header));
                for (Entry e : entries) {
                    writeTensor(ch, buf, file, e);
                }
                ch.force(true);
            }
            org.silora.hf.AtomicFiles.makeReadable(tmp);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
            syncDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write: " + Messages.oneLine(e), e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; the original failure matters more
                }
            }
        }
    }

    /** Writes every tensor of {@code tensors} (in the map's iteration order) as {@code dtype}. */
    public static void write(Path file, Map<String, String> metadata, Map<String, INDArray> tensors, DType dtype) {
        Objects.requireNonNull(tensors, "tensors");
        List<Entry> entries = new ArrayList<>(tensors.size());
        tensors.forEach((name, a) -> {
            Objects.requireNonNull(a, () -> "tensor " + Text.quote(name) + " is null");
            entries.add(new Entry(name, dtype, a.shape(), () -> a));
        });
        write(file, metadata, entries);
    }

    private static byte[] header(Path file, Map<String, String> metadata, List<Entry> entries) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode meta = root.putObject("__metadata__");
        metadata.forEach((k, v) -> {
            if (k == null || v == null) {
                throw new IllegalArgumentException(file + ": metadata keys and values must not be null");
            }
            meta.put(k, v);
        });
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (Entry e : entries) {
            Objects.requireNonNull(e, "entry");
            if (!names.add(e.name())) {
                throw new IllegalArgumentException(file + ": duplicate tensor name " + Text.quote(e.name()));
            }
            long bytes = Math.multiplyExact(numel(e.shape()), e.dtype().byteSize());
            ObjectNode t = root.putObject(e.name());
            t.put("dtype", e.dtype().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset = Math.addExact(offset, bytes);
        }
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) & ~7;
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    private static void writeTensor(FileChannel ch, ByteBuffer buf, Path file, Entry e) throws IOException {
        long n = numel(e.shape());
        INDArray a = e.data().get();
        if (a == null || a.length() != n || (n > 0 && !a.dataType().isFPType())) {
            throw new IllegalArgumentException(file + ": tensor " + Text.quote(e.name()) + " has shape "
                    + Arrays.toString(e.shape()) + " (" + n + " elements) but its data is "
                    + (a == null ? "null" : a.dataType() + " " + Arrays.toString(a.shape())));
        }
        if (n == 0) {
            return;
        }
        INDArray f = a.dataType() == DataType.FLOAT ? a : a.castTo(DataType.FLOAT);
        if (!Convert.plain(f)) {
            f = f.dup('c');
        }
        int size = e.dtype().byteSize();
        for (long done = 0; done < n; ) {
            int count = (int) Math.min(n - done, buf.capacity() / size);
            buf.clear();
            Convert.fromFloat(e.dtype(), Convert.window(f, done, count), buf, count);
            buf.flip();
            writeAll(ch, buf);
            done += count;
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d; // checked by Entry
        }
        return n;
    }

    private static void writeAll(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | RuntimeException ignored) {
            // not every platform can sync a directory; the file itself is synced
        }
    }
}
