package org.silora.hf.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Hugging Face tokenizer read from a model directory ({@code tokenizer.json}, plus the optional
 * {@code tokenizer_config.json} and {@code special_tokens_map.json}), backed by the Rust {@code tokenizers}
 * library through DJL. The rest of the code sees only {@code int[]} ids and strings, never a DJL type.
 *
 * <pre>{@code
 * try (HfTokenizer tok = HfTokenizer.load(Path.of("models/tiny-llama"))) {
 *     int[] ids = tok.encode("The cat sat.");          // BOS first if the model adds it
 *     int[] raw = tok.encode("The cat sat.", false);   // no special tokens
 *     String text = tok.decode(ids);                   // "The cat sat." (special tokens skipped)
 *     int embeddingRows = tok.vocabSize();
 * }
 * }</pre>
 *
 * <h2>What {@code encode} adds</h2>
 * Never truncated, never padded, whatever {@code tokenizer.json} says. Special tokens:
 * <ul>
 * <li>If {@code tokenizer_config.json} has {@code add_bos_token} or {@code add_eos_token}, or its
 *     {@code tokenizer_class} is a LLaMA one (then {@code add_bos_token} defaults to true and {@code add_eos_token}
 *     to false, as {@code LlamaTokenizer}), those flags decide alone: BOS is prepended and EOS appended as they
 *     say, and the {@code post_processor} of {@code tokenizer.json} is not used (as {@code LlamaTokenizerFast}
 *     rewrites it from the flags).</li>
 * <li>Otherwise the {@code post_processor} of {@code tokenizer.json} decides (a GPT-2/GPT-J {@code ByteLevel} one
 *     adds nothing; a {@code TemplateProcessing} one adds its special tokens).</li>
 * </ul>
 *
 * <h2>Special ids</h2>
 * BOS/EOS/PAD tokens are taken from {@code tokenizer_config.json}, else {@code special_tokens_map.json}, else
 * the class defaults ({@code <s>}/{@code </s>} for LLaMA, {@code <|endoftext|>} for GPT-2/GPT-J), else (BOS only)
 * the first special token of a {@code TemplateProcessing} post-processor. A token named by a config file that is
 * not in the vocabulary is a {@link ModelFormatException}.
 *
 * <p>Instances are thread-safe for {@code encode}/{@code decode}; {@link #close()} frees the native tokenizer.
 */
public final class HfTokenizer implements AutoCloseable {

    static {
        // DJL "calls home" (EC2 metadata + telemetry URL) on every tokenizer it creates unless told not to, and on a
        // machine with CUDA it picks a CUDA build of the native library that is not in the jar and would be
        // downloaded. The jar's CPU build is all we need, and nothing may touch the network.
        setIfAbsent("OPT_OUT_TRACKING", "true");
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("RUST_FLAVOR", "cpu");
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path file;
    private final HuggingFaceTokenizer djl;
    private final int vocabSize;
    private final Integer bosId;
    private final Integer eosId;
    private final Integer padId;
    /** null: follow the post_processor; else prepend BOS / append EOS as these say. */
    private final Boolean addBos;
    private final Boolean addEos;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HfTokenizer(Path file, HuggingFaceTokenizer djl, int vocabSize, Integer bosId, Integer eosId,
                        Integer padId, Boolean addBos, Boolean addEos) {
        this.file = file;
        this.djl = djl;
        this.vocabSize = vocabSize;
        this.bosId = bosId;
        this.eosId = eosId;
        this.padId = padId;
        this.addBos = addBos;
        this.addEos = addEos;
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getenv(key) == null && System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /**
     * Loads {@code modelDir/tokenizer.json} (or {@code modelDir} itself if it is a file) and the optional
     * {@code tokenizer_config.json} and {@code special_tokens_map.json} next to it.
     *
     * @throws ModelFormatException if a file is missing, unreadable, not JSON, or of a kind the {@code tokenizers}
     *                              library rejects; the message is one line naming the file
     */
    public static HfTokenizer load(Path modelDir) {
        Objects.requireNonNull(modelDir, "modelDir");
        Path file = Files.isRegularFile(modelDir) ? modelDir : modelDir.resolve("tokenizer.json");
        Path dir = file.toAbsolutePath().getParent();
        String json = readText(file, true);
        JsonNode root = parse(file, json);
        if (!root.isObject()) {
            throw ModelFormatException.of(file, "not a tokenizer: the JSON is not an object");
        }
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) {
            throw ModelFormatException.of(file, "not a tokenizer: no \"model\" object");
        }
        Vocab vocab = Vocab.of(file, root);
        checkPostProcessor(file, root.get("post_processor"), vocab.size());

        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode config = optionalJson(configFile);
        Path mapFile = dir.resolve("special_tokens_map.json");
        JsonNode map = optionalJson(mapFile);

        String cls = config == null ? "" : config.path("tokenizer_class").asText("");
        String family = cls.toLowerCase(Locale.ROOT);
        boolean llama = family.contains("llama");
        boolean gpt2 = family.startsWith("gpt2") || family.startsWith("gptj") || family.startsWith("codegen");

        Boolean addBos = flag(configFile, config, "add_bos_token");
        Boolean addEos = flag(configFile, config, "add_eos_token");
        if (llama) {
            addBos = addBos == null ? Boolean.TRUE : addBos;
            addEos = addEos == null ? Boolean.FALSE : addEos;
        } else if (addBos != null || addEos != null) {
            addBos = Boolean.TRUE.equals(addBos);
            addEos = Boolean.TRUE.equals(addEos);
        }

        String defBos = llama ? "<s>" : gpt2 ? "<|endoftext|>" : null;
        String defEos = llama ? "</s>" : gpt2 ? "<|endoftext|>" : null;
        Integer bos = special(vocab, "bos_token", configFile, config, mapFile, map, defBos);
        if (bos == null) {
            bos = templateBos(root.get("post_processor"), vocab);
        }
        Integer eos = special(vocab, "eos_token", configFile, config, mapFile, map, defEos);
        Integer pad = special(vocab, "pad_token", configFile, config, mapFile, map, null);
        if (Boolean.TRUE.equals(addBos) && bos == null) {
            throw ModelFormatException.of(configFile, "add_bos_token is true but there is no bos_token");
        }
        if (Boolean.TRUE.equals(addEos) && eos == null) {
            throw ModelFormatException.of(configFile, "add_eos_token is true but there is no eos_token");
        }

        HuggingFaceTokenizer djl;
        try {
            djl = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
                    Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true"));
        } catch (IOException | RuntimeException e) {
            throw ModelFormatException.of(file, "rejected by the tokenizers library: " + Messages.oneLine(e), e);
        }
        return new HfTokenizer(file, djl, vocab.size(), bos, eos, pad, addBos, addEos);
    }

    /** {@link #encode(String, boolean) encode(text, true)}: with the special tokens the model adds. */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /**
     * Token ids of {@code text}, never truncated nor padded.
     *
     * @param addSpecialTokens whether to add BOS/EOS as the model does (see the class comment)
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        Objects.requireNonNull(text, "text");
        boolean manual = addBos != null;
        Encoding enc;
        try {
            enc = djl.encode(text, addSpecialTokens && !manual, false);
        } catch (RuntimeException e) {
            // e.g. a BPE model without unk_token meeting an unknown symbol: a defect of the file, found only now
            throw ModelFormatException.of(file, "the tokenizers library cannot encode with this tokenizer: " + Messages.oneLine(e), e);
        }
        long[] ids = enc.getIds();
        int before = addSpecialTokens && manual && addBos ? 1 : 0;
        int after = addSpecialTokens && manual && addEos ? 1 : 0;
        int[] out = new int[before + ids.length + after];
        if (before == 1) {
            out[0] = bosId;
        }
        for (int i = 0; i < ids.length; i++) {
            out[before + i] = Math.toIntExact(ids[i]);
        }
        if (after == 1) {
            out[out.length - 1] = eosId;
        }
        return out;
    }

    /** The text of {@code ids}, special tokens skipped. */
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    /**
     * The text of {@code ids}.
     *
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        Objects.requireNonNull(ids, "ids");
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException("token id " + ids[i] + " at " + i + " is outside [0, "
                        + vocabSize + ")");
            }
            l[i] = ids[i];
        }
        try {
            return djl.decode(l, skipSpecialTokens);
        } catch (RuntimeException e) {
            throw ModelFormatException.of(file, "the tokenizers library cannot decode with this tokenizer: " + Messages.oneLine(e), e);
        }
    }

    /**
     * The size of the full vocabulary, added tokens included: one more than the largest id (the number of
     * embedding rows a model needs).
     */
    public int vocabSize() {
        return vocabSize;
    }

    public OptionalInt bosId() {
        return bosId == null ? OptionalInt.empty() : OptionalInt.of(bosId);
    }

    public OptionalInt eosId() {
        return eosId == null ? OptionalInt.empty() : OptionalInt.of(eosId);
    }

    public OptionalInt padId() {
        return padId == null ? OptionalInt.empty() : OptionalInt.of(padId);
    }

    /** The {@code tokenizer.json} this was loaded from. */
    public Path file() {
        return file;
    }

    /** Frees the native tokenizer; idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            djl.close();
        }
    }

    @Override
    public String toString() {
        return "HfTokenizer[" + file + ", vocab " + vocabSize + ", bos " + bosId + ", eos " + eosId + "]";
    }

    // ---------------------------------------------------------------- reading

    private static String readText(Path file, boolean required) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            if (!required) {
                return null;
            }
            throw ModelFormatException.of(file, "no such file", e);
        } catch (IOException e) {
            throw ModelFormatException.of(file, "cannot read: " + Messages.oneLine(e), e);
        }
    }

    private static JsonNode parse(Path file, String json) {
        try {
            JsonNode node = MAPPER.readTree(json);
            if (node == null || node.isMissingNode()) {
                throw ModelFormatException.of(file, "empty file, expected JSON");
            }
            return node;
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw ModelFormatException.of(file, "not valid JSON" + where + ": " + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED),
                    e);
        }
    }

    private static JsonNode optionalJson(Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        JsonNode node = parse(file, readText(file, true));
        if (!node.isObject()) {
            throw ModelFormatException.of(file, "expected a JSON object");
        }
        return node;
    }

    private static Boolean flag(Path file, JsonNode config, String name) {
        if (config == null || !config.has(name) || config.get(name).isNull()) {
            return null;
        }
        JsonNode v = config.get(name);
        if (!v.isBoolean()) {
            throw ModelFormatException.of(file, name + " must be true or false, got " + v);
        }
        return v.booleanValue();
    }

    /** The token text of a config entry: a string, or an AddedToken object with "content"; null if absent. */
    private static String tokenText(Path file, JsonNode node, String name) {
        JsonNode v = node == null ? null : node.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (v.isObject() && v.path("content").isTextual()) {
            return v.get("content").textValue();
        }
        throw ModelFormatException.of(file, name + " must be a string or an object with \"content\", got "
                + Messages.oneLine(v.toString(), Messages.MAX_WRAPPED));
    }

    private static Integer special(Vocab vocab, String name, Path configFile, JsonNode config, Path mapFile,
                                   JsonNode map, String classDefault) {
        String text = tokenText(configFile, config, name);
        Path from = configFile;
        if (text == null) {
            text = tokenText(mapFile, map, name);
            from = mapFile;
        }
        if (text != null) {
            Integer id = vocab.id(text);
            if (id == null) {
                throw ModelFormatException.of(from, name + " \"" + text + "\" is not in the vocabulary of "
                        + vocab.file);
            }
            return id;
        }
        return classDefault == null ? null : vocab.id(classDefault);
    }

    /**
     * The checks the {@code tokenizers} library leaves to a panic: a {@code TemplateProcessing} template that names a
     * special token its {@code special_tokens} map lacks, or an entry whose {@code ids} and {@code tokens} differ in
     * length, aborts the whole JVM at the first encode (Rust panics cannot cross JNI; found by fuzzing). Also in
     * {@code Sequence} post-processors.
     */
    private static void checkPostProcessor(Path file, JsonNode post, int vocabSize) {
        if (post == null || post.isNull()) {
            return;
        }
        if (!post.isObject()) {
            throw ModelFormatException.of(file, "post_processor is not an object");
        }
        // the library picks the variant by the fields present (serde "untagged"), not by "type": so do we
        if (post.has("processors")) {
            JsonNode ps = post.get("processors");
            if (!ps.isArray()) {
                throw ModelFormatException.of(file, "post_processor \"processors\" is not a list");
            }
            for (JsonNode p : ps) {
                checkPostProcessor(file, p, vocabSize);
            }
        }
        for (String field : new String[]{"sep", "cls"}) {
            JsonNode pair = post.get(field);
            if (pair != null && !(pair.isArray() && pair.size() == 2 && pair.get(1).canConvertToInt()
                    && pair.get(1).intValue() >= 0 && pair.get(1).intValue() < vocabSize)) {
                throw ModelFormatException.of(file, "post_processor \"" + field + "\" must be [token, id] with an id in the vocabulary");
            }
        }
        if (!post.has("single") && !post.has("pair") && !post.has("special_tokens")) {
            return;
        }
        JsonNode specials = post.path("special_tokens");
        if (!specials.isObject()) {
            throw ModelFormatException.of(file, "post_processor template has no \"special_tokens\" object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = specials.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode ids = e.getValue().path("ids");
            JsonNode tokens = e.getValue().path("tokens");
            if (!ids.isArray() || !tokens.isArray() || ids.size() != tokens.size()) {
                throw ModelFormatException.of(file, "post_processor special token '" + e.getKey()
                        + "' needs \"ids\" and \"tokens\" lists of equal length");
            }
            for (JsonNode id : ids) {
                if (!id.canConvertToInt() || id.intValue() < 0 || id.intValue() >= vocabSize) {
                    throw ModelFormatException.of(file, "post_processor special token '" + e.getKey() + "' has id " + id
                            + " outside the vocabulary [0, " + vocabSize + ")");
                }
            }
        }
        for (String template : new String[]{"single", "pair"}) {
            JsonNode pieces = post.path(template);
            if (pieces.isMissingNode() || pieces.isNull()) {
                continue;
            }
            if (pieces.isTextual()) {
                // the string form, e.g. "<s> $A:0 </s>": every piece not starting with $ names a special token
                for (String piece : pieces.asText().trim().split("\\s+")) {
                    if (piece.isEmpty() || piece.startsWith("$")) {
                        continue;
                    }
                    int colon = piece.lastIndexOf(':');
                    String name = colon > 0 ? piece.substring(0, colon) : piece;
                    if (!specials.has(name)) {
                        throw ModelFormatException.of(file, "post_processor template \"" + template + "\" names special token '"
                                + name + "' that special_tokens does not define");
                    }
                }
                continue;
            }
            if (!pieces.isArray()) {
                throw ModelFormatException.of(file, "post_processor template \"" + template + "\" is not a list");
            }
            for (JsonNode piece : pieces) {
                JsonNode special = piece.get("SpecialToken");
                if (special == null) {
                    continue;
                }
                String name = special.path("id").asText(null);
                if (name == null || !specials.has(name)) {
                    throw ModelFormatException.of(file, "post_processor template \"" + template + "\" names special token '"
                            + name + "' that special_tokens does not define");
                }
            }
        }
    }

    /** The first special token of a TemplateProcessing "single" template, if it comes before the sequence. */
    private static Integer templateBos(JsonNode post, Vocab vocab) {
        if (post == null || !post.isObject()) {
            return null;
        }
        String type = post.path("type").asText("");
        if (type.equals("Sequence")) {
            for (JsonNode p : post.path("processors")) {
                Integer id = templateBos(p, vocab);
                if (id != null) {
                    return id;
                }
            }
            return null;
        }
        if (!type.equals("TemplateProcessing")) {
            return null;
        }
        JsonNode first = post.path("single").path(0);
        if (!first.has("SpecialToken")) {
            return null;
        }
        String name = first.get("SpecialToken").path("id").asText(null);
        JsonNode ids = post.path("special_tokens").path(name).path("ids");
        if (ids.size() == 1 && ids.get(0).canConvertToInt()) {
            return ids.get(0).intValue();
        }
        return name == null ? null : vocab.id(name);
    }

    /** Token text to id over the model vocabulary and the added tokens. */
    private static final class Vocab {
        final Path file;
        final JsonNode modelVocab;
        final JsonNode added;
        final int size;

        private Vocab(Path file, JsonNode modelVocab, JsonNode added, int size) {
            this.file = file;
            this.modelVocab = modelVocab;
            this.added = added;
            this.size = size;
        }

        static Vocab of(Path file, JsonNode root) {
            JsonNode vocab = root.get("model").get("vocab");
            long max = -1;
            if (vocab == null || vocab.isNull()) {
                throw ModelFormatException.of(file, "model has no \"vocab\"");
            } else if (vocab.isObject()) { // BPE, WordPiece, WordLevel: token -> id
                for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                    JsonNode id = it.next().getValue();
                    if (!id.canConvertToLong() || id.longValue() < 0) {
                        throw ModelFormatException.of(file, "model.vocab has a bad id " + Messages.oneLine(id.toString(), Messages.MAX_WRAPPED));
                    }
                    max = Math.max(max, id.longValue());
                }
            } else if (vocab.isArray()) { // Unigram: [[piece, score], ...], id = index
                max = vocab.size() - 1;
            } else {
                throw ModelFormatException.of(file, "model.vocab is neither an object nor an array");
            }
            JsonNode added = root.path("added_tokens");
            for (JsonNode t : added) {
                JsonNode id = t.get("id");
                if (id == null || !id.canConvertToLong() || id.longValue() < 0 || !t.path("content").isTextual()) {
                    throw ModelFormatException.of(file, "added_tokens has a bad entry " + Messages.oneLine(t.toString(), Messages.MAX_WRAPPED));
                }
                max = Math.max(max, id.longValue());
            }
            if (max >= Integer.MAX_VALUE) {
                throw ModelFormatException.of(file, "token id " + max + " does not fit an int");
            }
            return new Vocab(file, vocab, added, (int) (max + 1));
        }

        int size() {
            return size;
        }

        Integer id(String token) {
            for (JsonNode t : added) {
                if (token.equals(t.get("content").textValue())) {
                    return t.get("id").intValue();
                }
            }
            if (modelVocab.isObject()) {
                JsonNode id = modelVocab.get(token);
                return id == null ? null : id.intValue();
            }
            for (int i = 0; i < modelVocab.size(); i++) {
                if (token.equals(modelVocab.get(i).path(0).asText(null))) {
                    return i;
                }
            }
            return null;
        }
    }
}
