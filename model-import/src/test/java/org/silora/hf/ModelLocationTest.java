package org.silora.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.hf.testing.TinyModels;

/**
 * {@link ModelLocation} on folders laid out as {@code huggingface_hub} lays out its cache (refs files, snapshot
 * folders whose files are relative symbolic links into {@code ../../blobs/}), and {@link SafetensorsCheckpoint}
 * opening such snapshots.
 */
class ModelLocationTest {
    private static final String ID = "acme-ai/Tiny.Llama_2";
    private static final String FOLDER = "models--acme-ai--Tiny.Llama_2";
    private static final String A = "0123456789abcdef0123456789abcdef01234567";
    private static final String B = "fedcba9876543210fedcba9876543210fedcba98";

    @TempDir
    Path root;

    private Path cache() throws IOException {
        return Files.createDirectories(root.resolve("hub"));
    }

    private Map<String, String> env() {
        return Map.of("HF_HUB_CACHE", root.resolve("hub").toString());
    }

    /**
     * Moves the files of the model folder {@code written} into {@code models--.../blobs/} and makes
     * {@code snapshots/<commit>/} of relative links to them, as the hub's download does. Returns the snapshot.
     */
    private static Path snapshot(Path model, String commit, Path written) throws IOException {
        Path blobs = Files.createDirectories(model.resolve("blobs"));
        Path snap = Files.createDirectories(model.resolve("snapshots").resolve(commit));
        List<Path> files;
        try (Stream<Path> s = Files.list(written)) {
            files = s.sorted().toList();
        }
        for (Path f : files) {
            String blob = commit.substring(0, 8) + "-" + f.getFileName();   // stands in for the file's hash
            Files.move(f, blobs.resolve(blob));
            Files.createSymbolicLink(snap.resolve(f.getFileName().toString()), Path.of("..", "..", "blobs", blob));
        }
        return snap;
    }

    /** A snapshot with only a config.json (enough for resolving). */
    private Path emptySnapshot(Path model, String commit) throws IOException {
        Path w = Files.createDirectories(root.resolve("written-" + commit));
        Files.writeString(w.resolve("config.json"), ModelConfigs.toJson(TinyModels.llamaGqa()));
        return snapshot(model, commit, w);
    }

    private static void ref(Path model, String name, String commit) throws IOException {
        Files.createDirectories(model.resolve("refs"));
        Files.writeString(model.resolve("refs").resolve(name), commit);   // huggingface_hub writes no newline
    }

    private static String rejected(String spec, Map<String, String> env, String... parts) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLocation.resolve(spec, env));
        return oneLineWith(e, parts);
    }

    private static String checkpointRejected(Path dir, String... parts) {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> SafetensorsCheckpoint.open(dir).close());
        return oneLineWith(e, parts);
    }

    private static String oneLineWith(ModelFormatException e, String... parts) {
        String m = e.getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), m);
        for (String p : parts) {
            assertTrue(m.contains(p), "expected '" + p + "' in: " + m);
        }
        return m;
    }

    @Test
    void aFolderIsReturnedAsItIs() throws IOException {
        Path dir = Files.createDirectories(root.resolve("some").resolve("model"));
        assertEquals(dir, ModelLocation.resolve(dir.toString(), env()));
        Path rel = Path.of("").toAbsolutePath().relativize(dir);
        assertEquals(rel, ModelLocation.resolve(rel.toString(), env()));
        // a snapshot folder named by its path, and a folder that happens to look like a hub id
        Path snap = emptySnapshot(cache().resolve(FOLDER), A);
        assertEquals(snap, ModelLocation.resolve(snap.toString(), Map.of()));
        Path idLike = Files.createDirectories(root.resolve("acme-ai").resolve("Tiny.Llama_2"));
        Path relId = Path.of("").toAbsolutePath().relativize(idLike);
        assertEquals(relId, ModelLocation.resolve(relId.toString(), env()));
    }

    @Test
    void aHubIdResolvesThroughRefsMain() throws IOException {
        Path model = cache().resolve(FOLDER);
        Path a = emptySnapshot(model, A);
        emptySnapshot(model, B);
        ref(model, "main", A);
        assertEquals(a, ModelLocation.resolve(ID, env()));
        Files.writeString(model.resolve("refs").resolve("main"), A + "\n");   // a hand-written one
        assertEquals(a, ModelLocation.resolve(ID, env()));
    }

    @Test
    void aRevisionIsASnapshotHashOrARefName() throws IOException {
        Path model = cache().resolve(FOLDER);
        Path a = emptySnapshot(model, A);
        Path b = emptySnapshot(model, B);
        ref(model, "main", A);
        ref(model, "v2.0", B);
        assertEquals(b, ModelLocation.resolve(ID + "@" + B, env()));
        assertEquals(a, ModelLocation.resolve(ID + "@" + A, env()));
        assertEquals(b, ModelLocation.resolve(ID + "@v2.0", env()));
        assertEquals(a, ModelLocation.resolve(ID + "@main", env()));
        String m = rejected(ID + "@nope", env(), ID + "@nope: ", "'nope'", FOLDER, A, B, "main, v2.0");
        assertFalse(m.contains("set HF_HUB_CACHE"), m);
        rejected(ID + "@.", env(), "not a Hugging Face id");
        rejected(ID + "@../" + A, env(), "not a Hugging Face id");
    }

    @Test
    void theOnlySnapshotServesWithoutRefs() throws IOException {
        Path model = cache().resolve(FOLDER);
        Path a = emptySnapshot(model, A);
        assertEquals(a, ModelLocation.resolve(ID, env()));
    }

    @Test
    void missingCacheModelOrSnapshotAreOneLineErrors() throws IOException {
        Path nowhere = root.resolve("no-cache");
        rejected(ID, Map.of("HF_HUB_CACHE", nowhere.toString()),
                ID + ": not a folder, and not in the Hugging Face cache " + nowhere, "no such folder");

        Path hub = cache();
        String m = rejected("meta-llama/Llama-3.2-1B", Map.of("HF_HOME", root.toString()),
                "meta-llama/Llama-3.2-1B: not a folder, and not in the Hugging Face cache " + hub,
                "no models--meta-llama--Llama-3.2-1B", "HF_HOME");
        assertFalse(m.contains("there is"), m);
        Files.createDirectories(hub.resolve("models--Meta-Llama--Llama-3.2-1B"));
        rejected("meta-llama/Llama-3.2-1B", env(), "there is models--Meta-Llama--Llama-3.2-1B");

        Path model = Files.createDirectories(hub.resolve(FOLDER));
        rejected(ID, env(), ID + ": ", "no refs/main and no snapshots", FOLDER);
        emptySnapshot(model, A);
        emptySnapshot(model, B);
        rejected(ID, env(), ID + ": ", "2 snapshots", A + ", " + B, ID + "@<revision>");
        ref(model, "main", "1111111111111111111111111111111111111111");
        rejected(ID, env(), ID + ": ", "refs/main names commit 1111111111111111111111111111111111111111",
                "no " + model.resolve("snapshots").resolve("1111111111111111111111111111111111111111"));
        Files.writeString(model.resolve("refs").resolve("main"), "../../../etc");
        rejected(ID, env(), ID + ": ", "does not hold a commit hash");
    }

    @Test
    void whatIsNeitherAFolderNorAnIdIsAnError() throws IOException {
        for (String spec : List.of("no-such-folder", "a/b/c", "org/na me", "../x", "./x", "org/..", "org--x/y", "/x",
                "a/b\nc")) {
            String m = rejected(spec, env(), "no such folder, and not a Hugging Face id");
            assertTrue(m.startsWith(spec.replace("\n", "\\u000a") + ": "), m);
        }
        Path file = Files.writeString(root.resolve("config.json"), "{}");
        rejected(file.toString(), env(), file + ": not a folder");
        rejected("", env(), "no model given");
    }

    @Test
    void theCacheIsHfHubCacheThenHfHomeThenTheHomeFolder() {
        String home = System.getProperty("user.home");
        assertEquals(Path.of("/c/hub"), ModelLocation.cacheRoot(Map.of("HF_HUB_CACHE", "/c/hub", "HF_HOME", "/h",
                "XDG_CACHE_HOME", "/x")));
        assertEquals(Path.of("/h/hub"), ModelLocation.cacheRoot(Map.of("HF_HOME", "/h", "XDG_CACHE_HOME", "/x")));
        assertEquals(Path.of("/x/huggingface/hub"), ModelLocation.cacheRoot(Map.of("XDG_CACHE_HOME", "/x")));
        assertEquals(Path.of(home, ".cache", "huggingface", "hub"), ModelLocation.cacheRoot(Map.of()));
        assertEquals(Path.of(home, ".cache", "huggingface", "hub"), ModelLocation.cacheRoot(Map.of("HF_HUB_CACHE", "",
                "HF_HOME", "")));
        assertEquals(Path.of(home, "hf", "hub"), ModelLocation.cacheRoot(Map.of("HF_HOME", "~/hf")));
    }

    @Test
    void theCacheSettingsArePickedInOrder() throws IOException {
        // one model, three caches: each setting finds a different snapshot
        Path viaHubCache = emptySnapshot(Files.createDirectories(root.resolve("c1").resolve(FOLDER)), A);
        Path viaHome = emptySnapshot(Files.createDirectories(root.resolve("home").resolve("hub").resolve(FOLDER)), B);
        assertEquals(viaHubCache, ModelLocation.resolve(ID, Map.of("HF_HUB_CACHE", root.resolve("c1").toString(),
                "HF_HOME", root.resolve("home").toString())));
        assertEquals(viaHome, ModelLocation.resolve(ID, Map.of("HF_HOME", root.resolve("home").toString())));
    }

    @Test
    void aShardedSnapshotLinkedIntoBlobsOpens() throws IOException {
        LlamaConfig cfg = TinyModels.llamaGqa();
        Map<String, INDArray> w = TinyModels.randomWeights(cfg, 7);
        Path written = root.resolve("written");
        TinyModels.write(written, cfg, w, DType.F32, 3);
        Path model = cache().resolve(FOLDER);
        Path snap = snapshot(model, A, written);
        ref(model, "main", A);
        assertTrue(Files.isSymbolicLink(snap.resolve("model-00002-of-00003.safetensors")));
        assertTrue(Files.isSymbolicLink(snap.resolve("config.json")));

        Path dir = ModelLocation.resolve(ID, env());
        assertEquals(snap, dir);
        assertEquals(cfg, ModelConfigs.load(dir));
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
            assertEquals(w.keySet(), c.names());
            for (String name : List.of("model.embed_tokens.weight", "model.layers.1.self_attn.k_proj.weight",
                    "lm_head.weight")) {
                assertEquals(w.get(name), c.readFloat(name), name);
            }
        }
    }

    @Test
    void aSnapshotLinkLeadingOutOfTheModelFolderIsRefused() throws IOException {
        LlamaConfig cfg = TinyModels.llamaGqa();
        Path written = root.resolve("written");
        TinyModels.write(written, cfg, TinyModels.randomWeights(cfg, 7), DType.F32, 2);
        Path model = cache().resolve(FOLDER);
        Path snap = snapshot(model, A, written);
        // the second shard's blob is moved out of the cache and linked from there
        Path shard = snap.resolve("model-00002-of-00002.safetensors");
        Path outside = root.resolve("elsewhere.safetensors");
        Files.move(shard.toRealPath(), outside);
        Files.delete(shard);
        Files.createSymbolicLink(shard, outside);
        checkpointRejected(snap, "'model-00002-of-00002.safetensors'", "resolves to " + outside.toRealPath(),
                "outside the Hugging Face cache folder " + model.toRealPath());
        // a link to another model's blob is outside too
        Path other = Files.createDirectories(cache().resolve("models--acme-ai--Other").resolve("blobs"));
        Files.move(outside, other.resolve("x"));
        Files.delete(shard);
        Files.createSymbolicLink(shard, Path.of("..", "..", "..", "models--acme-ai--Other", "blobs", "x"));
        checkpointRejected(snap, "'model-00002-of-00002.safetensors'", "models--acme-ai--Other",
                "outside the Hugging Face cache folder " + model.toRealPath());
        // back inside (a different place in the model folder than blobs/) it opens
        Files.move(other.resolve("x"), model.resolve("x"));
        Files.delete(shard);
        Files.createSymbolicLink(shard, Path.of("..", "..", "x"));
        SafetensorsCheckpoint.open(snap).close();
    }

    @Test
    void aSingleFileSnapshotLinkedIntoBlobsOpensAndOneLinkedOutIsRefused() throws IOException {
        Path written = Files.createDirectories(root.resolve("written"));
        INDArray t = Nd4j.createFromArray(new float[][] {{1, 2, 3}, {4, 5, 6}});
        SafetensorsWriter.write(written.resolve("model.safetensors"), Map.of("format", "pt"), Map.of("w", t),
                DType.F32);
        Path model = cache().resolve(FOLDER);
        Path snap = snapshot(model, A, written);
        assertEquals(snap, ModelLocation.resolve(ID, env()));
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(snap)) {
            assertEquals(List.of("w"), List.copyOf(c.names()));
            assertEquals(t, c.readFloat("w"));
        }
        Path single = snap.resolve("model.safetensors");
        Path outside = root.resolve("elsewhere.safetensors");
        Files.move(single.toRealPath(), outside);
        Files.delete(single);
        Files.createSymbolicLink(single, outside);
        checkpointRejected(snap, snap + ": ", "'model.safetensors'", "resolves to " + outside.toRealPath(),
                "outside the Hugging Face cache folder " + model.toRealPath());

        // an ordinary folder's model.safetensors may still be a link to anywhere
        Path plain = Files.createDirectories(root.resolve("plain"));
        Files.createSymbolicLink(plain.resolve("model.safetensors"), outside);
        try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(plain)) {
            assertEquals(t, c.readFloat("w"));
        }
    }

    @Test
    void onlyARealCacheSnapshotWidensTheRule() throws IOException {
        // snapshots/<rev> outside a models--* folder is an ordinary folder: its shards stay inside it
        LlamaConfig cfg = TinyModels.llamaGqa();
        Path written = root.resolve("written");
        TinyModels.write(written, cfg, TinyModels.randomWeights(cfg, 7), DType.F32, 2);
        Path model = Files.createDirectories(root.resolve("not-a-cache-model"));
        Path snap = snapshot(model, A, written);
        checkpointRejected(snap, "'model-00001-of-00002.safetensors'", "outside the checkpoint folder");
        // a link to a cache snapshot folder is a cache snapshot (its real path is)
        Path model2 = Files.createDirectories(cache().resolve(FOLDER));
        Files.move(model.resolve("blobs"), model2.resolve("blobs"));
        Files.createDirectories(model2.resolve("snapshots"));
        Files.move(snap, model2.resolve("snapshots").resolve(A));
        Path link = Files.createSymbolicLink(root.resolve("my-model"), model2.resolve("snapshots").resolve(A));
        assertEquals(link, ModelLocation.resolve(link.toString(), env()));
        SafetensorsCheckpoint.open(link).close();
    }
}
