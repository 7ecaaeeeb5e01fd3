package org.silora.hf;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a model named on the command line lies: a model folder, or a Hugging Face hub id found, offline, in the
 * hub's own cache ({@code huggingface-cli download} or {@code from_pretrained} put it there).
 *
 * <pre>{@code
 * Path dir = ModelLocation.resolve("models/tiny-llama");           // a folder: returned as it is
 * Path snap = ModelLocation.resolve("meta-llama/Llama-3.2-1B");    // <cache>/models--meta-llama--Llama-3.2-1B/
 *                                                                  //   snapshots/<the commit in refs/main>
 * Path pinned = ModelLocation.resolve("meta-llama/Llama-3.2-1B@v1.0");   // a ref name or a commit hash
 * try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(snap)) { ... }
 * }</pre>
 *
 * The cache is {@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code $XDG_CACHE_HOME/huggingface/hub},
 * else {@code ~/.cache/huggingface/hub}, as in {@code huggingface_hub}. In it, {@code org/name} is the folder
 * {@code models--org--name}; its {@code refs/<ref>} files hold commit hashes and {@code snapshots/<hash>/} are the
 * model folders (their files are symbolic links into {@code ../../blobs/}). Nothing is downloaded. Every failure is
 * a one-line {@link ModelFormatException} that names what was looked for and where.
 */
public final class ModelLocation {
    /** One part of a hub id: letters, digits, '_', '-', '.'; a letter, digit or '_' at each end (as the hub). */
    private static final String PART = "[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?";
    private static final Pattern HUB_ID = Pattern.compile("(" + PART + ")/(" + PART + ")(?:@([A-Za-z0-9_.-]+))?");
    /** What a refs file may hold: a commit hash (a plain name, so that it cannot lead out of snapshots/). */
    private static final Pattern COMMIT = Pattern.compile("[A-Za-z0-9]{1,128}");
    private static final int MAX_REF_BYTES = 1024;

    private ModelLocation() {
    }

    /** {@link #resolve(String, Map)} with the process environment. */
    public static Path resolve(String spec) {
        return resolve(spec, System.getenv());
    }

    /**
     * The model folder that {@code spec} names: an existing folder as it is, or, for {@code org/name} or
     * {@code org/name@revision}, that snapshot folder in the Hugging Face cache ({@link #cacheRoot(Map)} of
     * {@code env}). Without a revision {@code refs/main} is used, or the only snapshot when there is no
     * {@code refs/main}; a revision is a snapshot folder's name (commit hash) or a ref name.
     */
    public static Path resolve(String spec, Map<String, String> env) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(env, "env");
        if (spec.isEmpty()) {
            throw new ModelFormatException("no model given: name a model folder or a Hugging Face id (org/name)");
        }
        Path asPath = null;
        try {
            asPath = Path.of(spec);
        } catch (InvalidPathException e) {
            // not a path on this system (a NUL, say), and so not a hub id either: the checks below say so
        }
        if (asPath != null && Files.isDirectory(asPath)) {
            return asPath;
        }
        if (asPath != null && Files.exists(asPath)) {
            throw fail(spec, "not a folder (a model is a folder with config.json and the weights, "
                    + "or a Hugging Face id org/name)");
        }
        Matcher m = HUB_ID.matcher(spec);
        if (!m.matches() || spec.contains("..") || (m.group(1) + "/" + m.group(2)).contains("--")
                || ".".equals(m.group(3))) {
            throw fail(spec, "no such folder, and not a Hugging Face id (org/name or org/name@revision)");
        }
        return inCache(spec, m.group(1) + "/" + m.group(2), m.group(3), env);
    }

    /**
     * The Hugging Face hub cache: {@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else
     * {@code XDG_CACHE_HOME/huggingface/hub}, else {@code ~/.cache/huggingface/hub} ({@code user.home});
     * empty variables count as unset and a leading {@code ~} is the home folder. The folder need not exist.
     */
    public static Path cacheRoot(Map<String, String> env) {
        Objects.requireNonNull(env, "env");
        String hubCache = env.get("HF_HUB_CACHE");
        if (set(hubCache)) {
            return expand(hubCache);
        }
        String home = env.get("HF_HOME");
        if (set(home)) {
            return expand(home).resolve("hub");
        }
        String xdg = env.get("XDG_CACHE_HOME");
        if (set(xdg)) {
            return expand(xdg).resolve("huggingface").resolve("hub");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
    }

    private static boolean set(String v) {
        return v != null && !v.isEmpty();
    }

    private static Path expand(String v) {
        if (v.equals("~") || v.startsWith("~/")) {
            return Path.of(System.getProperty("user.home") + v.substring(1));
        }
        return Path.of(v);
    }

    /** Which setting chose the cache, for the hint at the end of a message. */
    private static String cacheHint(Map<String, String> env) {
        if (set(env.get("HF_HUB_CACHE"))) {
            return "the cache is HF_HUB_CACHE";
        }
        if (set(env.get("HF_HOME"))) {
            return "the cache is HF_HOME/hub";
        }
        if (set(env.get("XDG_CACHE_HOME"))) {
            return "the cache is XDG_CACHE_HOME/huggingface/hub; set HF_HUB_CACHE or HF_HOME";
        }
        return "set HF_HUB_CACHE or HF_HOME";
    }

    private static Path inCache(String spec, String id, String rev, Map<String, String> env) {
        Path root = cacheRoot(env);
        String folder = "models--" + id.replace("/", "--");
        String where = "not a folder, and not in the Hugging Face cache " + root;
        if (!Files.isDirectory(root)) {
            throw fail(spec, where + " (no such folder; " + cacheHint(env) + ")");
        }
        Path model = root.resolve(folder);
        if (!Files.isDirectory(model)) {
            String near = caseInsensitive(root, folder);
            throw fail(spec, where + " (no " + folder + (near == null ? "" : ", but there is " + near) + "; "
                    + cacheHint(env) + ")");
        }
        Path snapshots = model.resolve("snapshots");
        List<String> snaps = names(snapshots, true);
        if (rev != null) {
            Path snap = snapshots.resolve(rev);
            if (Files.isDirectory(snap)) {
                return snap;
            }
            Path ref = model.resolve("refs").resolve(rev);
            if (Files.exists(ref)) {
                return fromRef(spec, model, ref, "refs/" + rev);
            }
            throw fail(spec, "revision '" + rev + "' is neither a snapshot nor a ref in " + model + " (snapshots: "
                    + list(snaps) + "; refs: " + list(names(model.resolve("refs"), false)) + ")");
        }
        Path main = model.resolve("refs").resolve("main");
        if (Files.exists(main)) {
            return fromRef(spec, model, main, "refs/main");
        }
        if (snaps.size() == 1) {
            return snapshots.resolve(snaps.get(0));
        }
        if (snaps.isEmpty()) {
            throw fail(spec, "no refs/main and no snapshots in " + model + " (an interrupted download?)");
        }
        throw fail(spec, "no refs/main and " + snaps.size() + " snapshots in " + model + " (" + list(snaps)
                + "); name one as " + id + "@<revision>");
    }

    /** The snapshot that the refs file {@code ref} names. */
    private static Path fromRef(String spec, Path model, Path ref, String refName) {
        if (!Files.isRegularFile(ref)) {
            throw fail(spec, ref + " is not a file");
        }
        String hash;
        try (InputStream in = Files.newInputStream(ref)) {
            byte[] b = in.readNBytes(MAX_REF_BYTES + 1);
            if (b.length > MAX_REF_BYTES) {
                throw fail(spec, ref + " is longer than a commit hash");
            }
            hash = new String(b, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw fail(spec, "cannot read " + ref + ": " + Messages.oneLine(e));
        }
        if (!COMMIT.matcher(hash).matches()) {
            throw fail(spec, ref + " does not hold a commit hash");
        }
        Path snap = model.resolve("snapshots").resolve(hash);
        if (!Files.isDirectory(snap)) {
            throw fail(spec, refName + " names commit " + hash + " but there is no " + snap
                    + " (an interrupted download?)");
        }
        return snap;
    }

    /** Sorted names in {@code dir} (folders only, or regular files only); empty when {@code dir} is missing. */
    private static List<String> names(Path dir, boolean folders) {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (folders ? Files.isDirectory(p) : Files.isRegularFile(p)) {
                    out.add(p.getFileName().toString());
                }
            }
        } catch (IOException e) {
            throw new ModelFormatException(dir + ": cannot list: " + Messages.oneLine(e), e);
        }
        Collections.sort(out);
        return out;
    }

    /** A folder in {@code root} whose name differs from {@code folder} only in case, or null. */
    private static String caseInsensitive(Path root, String folder) {
        try {
            for (String n : names(root, true)) {
                if (n.equalsIgnoreCase(folder)) {
                    return n;
                }
            }
        } catch (ModelFormatException e) {
            // only a hint
        }
        return null;
    }

    private static String list(List<String> names) {
        if (names.isEmpty()) {
            return "none";
        }
        int max = 10;
        String shown = String.join(", ", names.subList(0, Math.min(max, names.size())));
        return names.size() > max ? shown + ", ... (" + names.size() + " in all)" : shown;
    }

    private static ModelFormatException fail(String spec, String problem) {
        return new ModelFormatException(shown(spec) + ": " + problem);
    }

    /** The spec as typed, with control characters escaped (it is user input) and cut when very long. */
    private static String shown(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 300; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || c == '\u0085') {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return s.length() > 300 ? b + "...(" + s.length() + " chars)" : b.toString();
    }
}
