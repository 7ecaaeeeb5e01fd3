package org.silora.hf.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;

/**
 * One {@code .safetensors} file, opened read-only. {@link #open} reads and checks the whole header before anything
 * is allocated; tensor data is read one tensor at a time, straight into a new array of the asked type and layout
 * (FLOAT by default), without memory-mapping the file.
 *
 * <pre>{@code
 * try (SafetensorsFile f = SafetensorsFile.open(Path.of("model.safetensors"))) {
 *     for (TensorInfo t : f.tensors().values()) System.out.println(t);
 *     INDArray w = f.readFloat("lm_head.weight");
 * }
 * }</pre>
 *
 * Every problem with the file is a {@link ModelFormatException} with a one-line message naming the file.
 * Instances may be read from several threads at once.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest header accepted, as in the reference implementation. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** ND4J's rank limit. */
    static final int MAX_RANK = 32;
    private static final Set<String> ENTRY_FIELDS = Set.of("dtype", "shape", "data_offsets");

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private volatile boolean closed;
    private final TensorReader.Buffers buffers = new TensorReader.Buffers();

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Opens and validates {@code file}; the caller closes the result. */
    public static SafetensorsFile open(Path file) {
        Objects.requireNonNull(file, "file");
        if (!Files.isRegularFile(file)) {
            throw ModelFormatException.of(file, Files.exists(file) ? "not a regular file" : "no such file");
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw ModelFormatException.of(file, "no such file");
        } catch (IOException | RuntimeException e) {
            throw ModelFormatException.of(file, "cannot open: " + Messages.oneLine(e), e);
        }
        try {
            return parse(file, ch);
        } catch (IOException e) {
            closeQuietly(ch);
            throw ModelFormatException.of(file, "cannot read header: " + Messages.oneLine(e), e);
        } catch (RuntimeException | Error e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw ModelFormatException.of(file, "file is " + size + " bytes, too short for the 8-byte header length");
        }
        long n = readFully(ch, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n == 0) {
            throw ModelFormatException.of(file, "header length is 0");
        }
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw ModelFormatException.of(file, "header length " + Long.toUnsignedString(n) + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes");
        }
        if (n > size - 8) {
            throw ModelFormatException.of(file, "header length " + n + " runs past the end of the file (" + size
                    + " bytes)");
        }
        JsonNode root = Json.parseObject(file, "header", readFully(ch, 8, (int) n).array());
        long dataLength = size - 8 - n;

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                metadata = parseMetadata(file, e.getValue());
            } else {
                tensors.put(e.getKey(), parseEntry(file, e.getKey(), e.getValue(), dataLength));
            }
        }
        checkLayout(file, tensors.values(), dataLength);
        return new SafetensorsFile(file, ch, 8 + n, tensors, metadata);
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw ModelFormatException.of(file, "__metadata__ is a JSON " + Json.kind(node) + ", not an object");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw ModelFormatException.of(file, "__metadata__ value of " + Text.quote(e.getKey()) + " is a "
                        + Json.kind(e.getValue()) + ", not a string");
            }
            m.put(e.getKey(), e.getValue().textValue());
        }
        return m;
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode node, long dataLength) {
        String who = "tensor " + Text.quote(name);
        if (!node.isObject()) {
            throw ModelFormatException.of(file, who + " is a JSON " + Json.kind(node) + ", not an object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!ENTRY_FIELDS.contains(f)) {
                throw ModelFormatException.of(file, who + " has unknown field " + Text.quote(f));
            }
        }
        JsonNode dtype = node.get("dtype");
        if (dtype == null || !dtype.isTextual()) {
            throw ModelFormatException.of(file, who + (dtype == null ? " has no dtype" : " dtype is not a string"));
        }
        DType dt = DType.parse(dtype.textValue(), file, name);

        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw ModelFormatException.of(file, who + (shapeNode == null ? " has no shape" : " shape is not an array"));
        }
        if (shapeNode.size() > MAX_RANK) {
            throw ModelFormatException.of(file, who + " has rank " + shapeNode.size() + ", more than " + MAX_RANK);
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = integer(file, who + " shape", shapeNode.get(i));
        }

        JsonNode off = node.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) {
            throw ModelFormatException.of(file, who + (off == null ? " has no data_offsets"
                    : " data_offsets is not an array of two integers"));
        }
        long begin = integer(file, who + " data_offsets", off.get(0));
        long end = integer(file, who + " data_offsets", off.get(1));
        if (begin > dataLength || end > dataLength) {
            throw ModelFormatException.of(file, who + " data_offsets [" + begin + ", " + end
                    + "] exceed the data section (" + dataLength + " bytes)");
        }
        try {
            return new TensorInfo(name, dt, shape, begin, end);
        } catch (IllegalArgumentException e) {
            throw ModelFormatException.of(file, e.getMessage());
        }
    }

    private static long integer(Path file, String what, JsonNode n) {
        if (n == null || !n.isIntegralNumber()) {
            throw ModelFormatException.of(file, what + " holds a " + Json.kind(n) + " "
                    + Text.quote(String.valueOf(n)) + ", not an integer");
        }
        if (!n.canConvertToLong()) {
            throw ModelFormatException.of(file, what + " holds " + Text.quote(n.asText()) + ", out of range");
        }
        return n.longValue();
    }

    /** Tensors must tile the data section exactly: no overlaps, no holes, nothing left over. */
    private static void checkLayout(Path file, Iterable<TensorInfo> all, long dataLength) {
        List<TensorInfo> sorted = new ArrayList<>();
        all.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long pos = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < pos) {
                throw ModelFormatException.of(file, "tensors " + describe(prev) + " and " + describe(t) + " overlap");
            }
            if (t.begin() > pos) {
                throw ModelFormatException.of(file, "data section has a hole of " + (t.begin() - pos)
                        + " bytes at offset " + pos + ", before tensor " + describe(t));
            }
            pos = t.end();
            prev = t;
        }
        if (pos != dataLength) {
            throw ModelFormatException.of(file, "data section has " + (dataLength - pos)
                    + " bytes after the last tensor that no tensor uses");
        }
    }

    private static String describe(TensorInfo t) {
        return Text.quote(t.name()) + " [" + t.begin() + ", " + t.end() + "]";
    }

    private static ByteBuffer readFully(FileChannel ch, long pos, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                throw new IOException("unexpected end of file at offset " + (pos + b.position()));
            }
        }
        return b.flip();
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** All tensors, in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} strings; empty if the header has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Reads {@code name} as a new c-order FLOAT array of its header shape (a scalar for rank 0). */
    public INDArray readFloat(String name) {
        return read(name, DataType.FLOAT, false);
    }

    /**
     * Reads {@code name} as a new c-order array of element type {@code type} (FLOAT, HALF or BFLOAT16; converted
     * with round-to-nearest-even where the file holds another type), of its header shape, or, with
     * {@code transposed}, a rank-2 tensor {@code [R, C]} as {@code [C, R]}. No other copy of the tensor is made:
     * the file is read block by block (see {@link TensorReader}).
     *
     * <pre>{@code
     * INDArray wT = f.read("model.layers.0.mlp.up_proj.weight", DataType.BFLOAT16, true);   // [in, out], 16-bit
     * }</pre>
     */
    public INDArray read(String name, DataType type, boolean transposed) {
        TensorInfo t = info(name);
        if (!TensorReader.readable(type)) {
            throw new IllegalArgumentException(path + ": cannot read tensor " + Text.quote(name) + " as " + type
                    + " (FLOAT, HALF or BFLOAT16)");
        }
        long[] shape = t.shape();
        if (transposed) {
            if (shape.length != 2) {
                throw new IllegalArgumentException(path + ": cannot transpose tensor " + Text.quote(name)
                        + " of rank " + shape.length);
            }
            shape = new long[]{shape[1], shape[0]};
        }
        if (t.numel() == 0) {
            return Nd4j.create(type, shape);
        }
        INDArray a = Nd4j.createUninitialized(type, shape, 'c');
        copy(t, a, transposed);
        return a;
    }

    /**
     * Reads {@code name} into {@code target}, a FLOAT array with as many elements as the tensor; elements are
     * taken in c-order whatever the target's shape and layout.
     *
     * @throws IllegalArgumentException if the target is not FLOAT or has another length
     */
    public void readInto(String name, INDArray target) {
        TensorInfo t = info(name);
        Objects.requireNonNull(target, "target");
        if (target.dataType() != DataType.FLOAT || target.length() != t.numel()) {
            throw new IllegalArgumentException(path + ": cannot read tensor " + Text.quote(name) + " ("
                    + t.numel() + " elements) into a " + target.dataType() + " array of " + target.length()
                    + " elements");
        }
        if (t.numel() == 0) {
            return;
        }
        if (Convert.plain(target)) {
            copy(t, target, false);
        } else {
            target.assign(readFloat(name).reshape('c', target.shape()));
        }
    }

    TensorInfo info(String name) {
        ensureOpen();
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw ModelFormatException.of(path, "no tensor " + Text.quote(name));
        }
        return t;
    }

    private void copy(TensorInfo t, INDArray target, boolean transposed) {
        try {
            TensorReader.read(channel, dataStart, t, target, transposed, buffers);
        } catch (IOException e) {
            ensureOpen();
            throw ModelFormatException.of(path, "cannot read tensor " + Text.quote(t.name()) + ": "
                    + Messages.oneLine(e), e);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(path + ": file is closed");
        }
    }

    /** Releases the file. */
    @Override
    public void close() {
        closed = true;
        buffers.close();
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do: read-only
        }
    }
}
