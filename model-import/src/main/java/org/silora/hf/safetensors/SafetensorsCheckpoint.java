package org.silora.hf.safetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;

/**
 * The weights of a Hugging Face model folder: either one {@code model.safetensors} or the shards listed in
 * {@code model.safetensors.index.json} ({@code "weight_map": {tensor name: shard file}}). Every shard is opened and
 * validated once, and the index must agree with the shards exactly.
 *
 * <pre>{@code
 * try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(Path.of("TinyLlama-1.1B"))) {
 *     INDArray emb = ckpt.readFloat("model.embed_tokens.weight");
 *     long bytes = ckpt.totalBytes();
 * }
 * }</pre>
 *
 * Shard names must stay inside the folder (no absolute paths, no {@code ..}, no symbolic links that lead out).
 * A Hugging Face cache snapshot ({@code models--org--name/snapshots/<rev>/}, see
 * {@link org.silora.hf.ModelLocation}) links its files into {@code ../../blobs/}: there the files, including
 * {@code model.safetensors}, may lead anywhere inside {@code models--org--name} but not out of it.
 * Every problem is a {@link ModelFormatException} naming the folder or file.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    private static final long MAX_INDEX_BYTES = 100_000_000L;

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> owner;

    private SafetensorsCheckpoint(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> owner) {
        this.dir = dir;
        this.files = List.copyOf(files);
        this.owner = Collections.unmodifiableMap(owner);
    }

    /** Opens the checkpoint in {@code dir}; {@code model.safetensors} wins over an index, as in transformers. */
    public static SafetensorsCheckpoint open(Path dir) {
        Objects.requireNonNull(dir, "dir");
        if (!Files.isDirectory(dir)) {
            throw ModelFormatException.of(dir, Files.exists(dir) ? "not a directory" : "no such directory");
        }
        Path single = dir.resolve(SINGLE);
        Path index = dir.resolve(INDEX);
        if (Files.exists(single, LinkOption.NOFOLLOW_LINKS)) {
            // the name is fixed, so an ordinary folder's model.safetensors may be a link to anywhere (as it always
            // could); a cache snapshot's must lead into its models--org--name folder, as its shards must
            Path cache = hubModelFolder(dir);
            if (cache != null) {
                checkInside(cache, "the Hugging Face cache folder", single, SINGLE, dir);
            }
            SafetensorsFile f = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
            f.tensors().keySet().forEach(n -> owner.put(n, f));
            return new SafetensorsCheckpoint(dir, List.of(f), owner);
        }
        if (Files.exists(index, LinkOption.NOFOLLOW_LINKS)) {
            return openSharded(dir, index);
        }
        throw ModelFormatException.of(dir, "no " + SINGLE + " or " + INDEX);
    }

    private static SafetensorsCheckpoint openSharded(Path dir, Path index) {
        Map<String, String> weightMap = readIndex(index);
        Path cache = hubModelFolder(dir);
        Map<String, SafetensorsFile> byShard = new LinkedHashMap<>();
        try {
            for (String shard : weightMap.values()) {
                if (!byShard.containsKey(shard)) {
                    Path p = shardPath(dir, cache, index, shard);
                    byShard.put(shard, SafetensorsFile.open(p));
                }
            }
            Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile f = byShard.get(e.getValue());
                if (!f.tensors().containsKey(e.getKey())) {
                    throw ModelFormatException.of(index, "tensor " + Text.quote(e.getKey()) + " is listed in shard "
                            + Text.quote(e.getValue()) + " but that shard does not contain it");
                }
                owner.put(e.getKey(), f);
            }
            for (Map.Entry<String, SafetensorsFile> s : byShard.entrySet()) {
                for (String name : s.getValue().tensors().keySet()) {
                    String listed = weightMap.get(name);
                    if (listed == null) {
                        throw ModelFormatException.of(index, "shard " + Text.quote(s.getKey()) + " contains tensor "
                                + Text.quote(name) + " that the index does not list");
                    }
                    if (!listed.equals(s.getKey())) {
                        throw ModelFormatException.of(index, "shard " + Text.quote(s.getKey()) + " contains tensor "
                                + Text.quote(name) + " that the index lists in shard " + Text.quote(listed));
                    }
                }
            }
            return new SafetensorsCheckpoint(dir, new ArrayList<>(byShard.values()), owner);
        } catch (RuntimeException | Error e) {
            byShard.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, String> readIndex(Path index) {
        byte[] bytes;
        try {
            if (!Files.isRegularFile(index)) {
                throw ModelFormatException.of(index, "not a regular file");
            }
            long size = Files.size(index);
            if (size > MAX_INDEX_BYTES) {
                throw ModelFormatException.of(index, "index is " + size + " bytes, more than the limit of "
                        + MAX_INDEX_BYTES);
            }
            bytes = Files.readAllBytes(index);
        } catch (IOException e) {
            throw ModelFormatException.of(index, "cannot read: " + Messages.oneLine(e), e);
        }
        JsonNode root = Json.parseObject(index, "index", bytes);
        JsonNode wm = root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw ModelFormatException.of(index, wm == null ? "index has no weight_map"
                    : "weight_map is a JSON " + Json.kind(wm) + ", not an object");
        }
        JsonNode meta = root.get("metadata");
        if (meta != null && !meta.isObject() && !meta.isNull()) {
            throw ModelFormatException.of(index, "metadata is a JSON " + Json.kind(meta) + ", not an object");
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw ModelFormatException.of(index, "weight_map entry for " + Text.quote(e.getKey()) + " is a "
                        + Json.kind(e.getValue()) + ", not a file name");
            }
            map.put(e.getKey(), e.getValue().textValue());
        }
        return map;
    }

    /**
     * The shard's path, if {@code name} is a relative name inside {@code dir} that exists and really stays inside
     * {@code dir}, or inside {@code cache} when that is not null (the snapshot's {@code models--org--name}).
     */
    private static Path shardPath(Path dir, Path cache, Path index, String name) {
        String bad = "shard " + Text.quote(name) + " ";
        if (name.isEmpty() || name.indexOf('\0') >= 0 || name.indexOf('\\') >= 0) {
            throw ModelFormatException.of(index, bad + "is not a plain file name");
        }
        Path rel;
        try {
            rel = dir.getFileSystem().getPath(name);
        } catch (InvalidPathException e) {
            throw ModelFormatException.of(index, bad + "is not a valid file name");
        }
        if (rel.isAbsolute() || rel.getRoot() != null) {
            throw ModelFormatException.of(index, bad + "is an absolute path; shards must be inside the folder");
        }
        for (Path part : rel) {
            if (part.toString().equals("..") || part.toString().equals(".")) {
                throw ModelFormatException.of(index, bad + "contains '" + part + "'; shards must be inside the folder");
            }
        }
        Path p = dir.resolve(rel);
        if (!Files.exists(p)) {
            throw ModelFormatException.of(index, bad + "does not exist in " + dir);
        }
        if (cache != null) {
            checkInside(cache, "the Hugging Face cache folder", p, name, index);
        } else {
            checkInside(dir, "the checkpoint folder", p, name, index);
        }
        return p;
    }

    /**
     * For a Hugging Face cache snapshot, whose real path is {@code .../models--org--name/snapshots/<rev>}, the real
     * {@code models--org--name} folder (its files are links into that folder's {@code blobs/}); otherwise null.
     */
    private static Path hubModelFolder(Path dir) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException e) {
            throw ModelFormatException.of(dir, "cannot resolve: " + Messages.oneLine(e), e);
        }
        Path parent = real.getParent();
        Path model = parent == null ? null : parent.getParent();
        if (model == null || model.getFileName() == null || !parent.getFileName().toString().equals("snapshots")
                || !model.getFileName().toString().startsWith("models--")) {
            return null;
        }
        return model;
    }

    /** {@code p} (named {@code name}) must really be inside {@code root}, which {@code what} describes. */
    private static void checkInside(Path root, String what, Path p, String name, Path reportAs) {
        try {
            Path realRoot = root.toRealPath();
            Path real = p.toRealPath();
            if (!real.startsWith(realRoot) || real.equals(realRoot)) {
                throw ModelFormatException.of(reportAs, "shard " + Text.quote(name) + " resolves to " + real
                        + ", outside " + what + " " + realRoot);
            }
        } catch (IOException e) {
            throw ModelFormatException.of(reportAs, "cannot resolve " + Text.quote(name) + ": " + Messages.oneLine(e), e);
        }
    }

    /** Names of all tensors, in index (or header) order. */
    public Set<String> names() {
        return owner.keySet();
    }

    public boolean contains(String name) {
        return owner.containsKey(name);
    }

    /** The tensor's description. */
    public TensorInfo info(String name) {
        return file(name).tensors().get(name);
    }

    /** Reads {@code name} as a new c-order FLOAT array of its header shape. */
    public INDArray readFloat(String name) {
        return file(name).readFloat(name);
    }

    /** Reads {@code name} as {@code type}, transposed if asked: see {@link SafetensorsFile#read(String, org.nd4j.linalg.api.buffer.DataType, boolean)}. */
    public INDArray read(String name, org.nd4j.linalg.api.buffer.DataType type, boolean transposed) {
        return file(name).read(name, type, transposed);
    }

    private SafetensorsFile file(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) {
            throw ModelFormatException.of(dir, "checkpoint has no tensor " + Text.quote(name));
        }
        return f;
    }

    /** The safetensors files, each once, in order of first use in the index. */
    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    /** The element type most of the checkpoint's bytes are in (e.g. BF16 for a LLaMA-3 release). */
    public DType dominantDtype() {
        long[] bytes = new long[DType.values().length];
        owner.forEach((n, f) -> {
            TensorInfo t = f.tensors().get(n);
            bytes[t.dtype().ordinal()] += t.byteLength();
        });
        int best = 0;
        for (int i = 1; i < bytes.length; i++) if (bytes[i] > bytes[best]) best = i;
        return DType.values()[best];
    }

    /** Sum of the tensors' data bytes. */
    public long totalBytes() {
        return owner.entrySet().stream().mapToLong(e -> e.getValue().tensors().get(e.getKey()).byteLength()).sum();
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
