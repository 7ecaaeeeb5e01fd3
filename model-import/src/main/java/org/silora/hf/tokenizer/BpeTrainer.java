package org.silora.hf.tokenizer;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Trains a GPT-2 style byte-level BPE tokenizer and writes it as Hugging Face files that the Rust
 * {@code tokenizers} library (and so {@link HfTokenizer}, DJL and Python {@code transformers}) loads:
 * {@code tokenizer.json}, {@code tokenizer_config.json} and {@code special_tokens_map.json}.
 *
 * <pre>{@code
 * List<String> texts = Files.readAllLines(corpus);
 * BpeTrainer.train(texts, BpeTrainer.Options.llama(4096), modelDir);
 * try (HfTokenizer tok = HfTokenizer.load(modelDir)) {
 *     int[] ids = tok.encode("Hello world");   // [bos, ...]
 * }
 * }</pre>
 *
 * <p>The algorithm is the one of {@code tokenizers}' {@code BpeTrainer} with a ByteLevel pre-tokenizer: every text
 * is split with the GPT-2 regex, each piece is spelled with one character per UTF-8 byte, and the distinct pieces
 * ("words") are counted. The initial vocabulary is the special tokens (ids {@code 0..k-1}) followed by all 256 byte
 * symbols (ids {@code k..k+255}, in byte order), so any text can be encoded and no unknown token is ever needed.
 * Then, until the vocabulary is full, the adjacent pair with the highest count over all words (weighted by word
 * frequency) is merged; ties go to the pair with the smaller left id, then the smaller right id, so training is
 * deterministic. Pair counts are updated incrementally from the words that contain the merged pair, with a lazy
 * priority queue, so the cost per merge is proportional to the words it touches, not to the corpus.
 *
 * <p>Special token roles are by name: BOS is {@code <s>} (or {@code <|endoftext|>}), EOS is {@code </s>} (or
 * {@code <|endoftext|>}), UNK is {@code <unk>}, PAD is {@code <pad>}; other names are additional special tokens.
 */
public final class BpeTrainer {

    private static final Logger LOG = LoggerFactory.getLogger(BpeTrainer.class);

    /** Byte symbols every byte-level vocabulary holds. */
    public static final int BYTE_SYMBOLS = 256;

    private BpeTrainer() {
    }

    /**
     * Training options.
     *
     * @param vocabSize      the full vocabulary size, special tokens and the 256 byte symbols included; training
     *                       may stop earlier when no pair reaches {@code minFrequency}
     * @param specialTokens  special tokens, given ids {@code 0..k-1} in this order; distinct, non-empty
     * @param addBos         whether {@code encode} prepends BOS (then {@code <s>} or {@code <|endoftext|>} must be
     *                       listed); written as the {@code post_processor} and as {@code add_bos_token}
     * @param minFrequency   a pair is merged only if it occurs at least this often (at least 1)
     * @param modelMaxLength {@code model_max_length} written to {@code tokenizer_config.json} (the model's context)
     */
    public record Options(int vocabSize, List<String> specialTokens, boolean addBos, int minFrequency,
                          int modelMaxLength) {

        /** Default {@code model_max_length}, LLaMA's context. */
        public static final int DEFAULT_MODEL_MAX_LENGTH = 2048;

        public Options {
            Objects.requireNonNull(specialTokens, "specialTokens");
            specialTokens = List.copyOf(specialTokens); // rejects null elements
            if (new HashSet<>(specialTokens).size() != specialTokens.size()) {
                throw new IllegalArgumentException("specialTokens has duplicates: " + specialTokens);
            }
            for (String s : specialTokens) {
                if (s.isEmpty()) {
                    throw new IllegalArgumentException("specialTokens has an empty token");
                }
            }
            int min = specialTokens.size() + BYTE_SYMBOLS;
            if (vocabSize < min) {
                throw new IllegalArgumentException("vocabSize " + vocabSize + " < " + min
                        + " (special tokens + 256 byte symbols)");
            }
            if (minFrequency < 1) {
                throw new IllegalArgumentException("minFrequency must be >= 1, got " + minFrequency);
            }
            if (modelMaxLength < 1) {
                throw new IllegalArgumentException("modelMaxLength must be >= 1, got " + modelMaxLength);
            }
            if (addBos && role(specialTokens, "<s>", "<|endoftext|>") == null) {
                throw new IllegalArgumentException("addBos needs a BOS special token (<s> or <|endoftext|>) in "
                        + specialTokens);
            }
        }

        /** Options with the default {@code model_max_length} ({@value #DEFAULT_MODEL_MAX_LENGTH}). */
        public Options(int vocabSize, List<String> specialTokens, boolean addBos, int minFrequency) {
            this(vocabSize, specialTokens, addBos, minFrequency, DEFAULT_MODEL_MAX_LENGTH);
        }

        /** LLaMA style: {@code <unk>, <s>, </s>} (ids 0, 1, 2 as in LLaMA), BOS added, min frequency 2. */
        public static Options llama(int vocabSize) {
            return new Options(vocabSize, List.of("<unk>", "<s>", "</s>"), true, 2);
        }

        /** GPT-J (GPT-2) style: {@code <|endoftext|>} as BOS and EOS, nothing added, min frequency 2. */
        public static Options gptj(int vocabSize) {
            return new Options(vocabSize, List.of("<|endoftext|>"), false, 2);
        }

        String bosToken() {
            return role(specialTokens, "<s>", "<|endoftext|>");
        }

        String eosToken() {
            return role(specialTokens, "</s>", "<|endoftext|>");
        }

        String unkToken() {
            return role(specialTokens, "<unk>", null);
        }

        String padToken() {
            return role(specialTokens, "<pad>", null);
        }

        private static String role(List<String> specials, String first, String second) {
            if (specials.contains(first)) {
                return first;
            }
            return second != null && specials.contains(second) ? second : null;
        }
    }

    /**
     * Trains on {@code texts} and writes {@code tokenizer.json}, {@code tokenizer_config.json} and
     * {@code special_tokens_map.json} into {@code outDir} (created if needed). Each file is written to a temporary
     * file in {@code outDir} and renamed into place, so a reader never sees a half-written file.
     *
     * @throws UncheckedIOException if the files cannot be written
     */
    public static void train(Iterable<String> texts, Options options, Path outDir) {
        Objects.requireNonNull(texts, "texts");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(outDir, "outDir");
        long t0 = System.nanoTime();
        Model model = learn(countWords(texts), options);
        long t1 = System.nanoTime();
        try {
            Files.createDirectories(outDir);
            writeAtomically(outDir.resolve("tokenizer.json"), tokenizerJson(model, options));
            writeAtomically(outDir.resolve("tokenizer_config.json"), tokenizerConfigJson(options));
            writeAtomically(outDir.resolve("special_tokens_map.json"), specialTokensMapJson(options));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write tokenizer files to " + outDir + ": " + e.getMessage(), e);
        }
        LOG.info("BPE: {} tokens ({} merges) from {} distinct words in {} ms, written to {}",
                model.vocab.size(), model.merges.size(), model.distinctWords, (t1 - t0) / 1_000_000, outDir);
    }

    // ---------------------------------------------------------------- counting

    /** Distinct pre-tokenized pieces (raw text) and their counts. */
    static Map<String, long[]> countWords(Iterable<String> texts) {
        Map<String, long[]> counts = new HashMap<>();
        for (String text : texts) {
            Objects.requireNonNull(text, "texts contains null");
            var m = ByteLevel.GPT2_SPLIT.matcher(text);
            while (m.find()) {
                counts.computeIfAbsent(m.group(), k -> new long[1])[0]++;
            }
        }
        return counts;
    }

    // ---------------------------------------------------------------- learning

    /** The learned vocabulary (index = id) and merges (in rank order, as pairs of token strings). */
    record Model(List<String> vocab, List<String[]> merges, int distinctWords) {
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private static final class Pair implements Comparable<Pair> {
        final long count;
        final int a;
        final int b;

        Pair(long count, int a, int b) {
            this.count = count;
            this.a = a;
            this.b = b;
        }

        @Override
        public int compareTo(Pair o) {
            if (count != o.count) {
                return Long.compare(o.count, count); // higher count first
            }
            if (a != o.a) {
                return Integer.compare(a, o.a);
            }
            return Integer.compare(b, o.b);
        }
    }

    /** A growable int list. */
    private static final class IntList {
        int[] data = new int[4];
        int size;

        void add(int v) {
            if (size == data.length) {
                data = Arrays.copyOf(data, size * 2);
            }
            data[size++] = v;
        }
    }

    static Model learn(Map<String, long[]> wordCounts, Options options) {
        List<String> vocab = new ArrayList<>(options.vocabSize());
        Map<String, Integer> ids = new HashMap<>();
        for (String s : options.specialTokens()) {
            ids.put(s, vocab.size());
            vocab.add(s);
        }
        int[] byteId = new int[256];
        for (int b = 0; b < 256; b++) {
            String sym = String.valueOf(ByteLevel.BYTE_TO_CHAR[b]);
            Integer existing = ids.get(sym); // a special token that is a single byte symbol
            if (existing == null) {
                existing = vocab.size();
                ids.put(sym, existing);
                vocab.add(sym);
            }
            byteId[b] = existing;
        }

        // Words in a fixed order (sorted), so nothing depends on hash iteration order.
        String[] raw = wordCounts.keySet().toArray(new String[0]);
        Arrays.sort(raw);
        int n = raw.length;
        int[][] words = new int[n][];
        int[] lens = new int[n];
        long[] freq = new long[n];
        for (int w = 0; w < n; w++) {
            byte[] bytes = raw[w].getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int[] syms = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                syms[i] = byteId[bytes[i] & 0xFF];
            }
            words[w] = syms;
            lens[w] = syms.length;
            freq[w] = wordCounts.get(raw[w])[0];
        }

        Map<Long, long[]> pairCounts = new HashMap<>();
        Map<Long, IntList> where = new HashMap<>();
        for (int w = 0; w < n; w++) {
            int[] s = words[w];
            for (int i = 0; i + 1 < lens[w]; i++) {
                long k = key(s[i], s[i + 1]);
                pairCounts.computeIfAbsent(k, x -> new long[1])[0] += freq[w];
                IntList list = where.computeIfAbsent(k, x -> new IntList());
                if (list.size == 0 || list.data[list.size - 1] != w) {
                    list.add(w);
                }
            }
        }
        PriorityQueue<Pair> queue = new PriorityQueue<>(Math.max(16, pairCounts.size()));
        for (Map.Entry<Long, long[]> e : pairCounts.entrySet()) {
            long k = e.getKey();
            queue.add(new Pair(e.getValue()[0], (int) (k >>> 32), (int) k));
        }

        List<String[]> merges = new ArrayList<>();
        int[] visited = new int[n];
        Arrays.fill(visited, -1);
        Set<Long> increased = new LinkedHashSet<>();
        int round = 0;
        while (vocab.size() < options.vocabSize() && !queue.isEmpty()) {
            Pair top = queue.poll();
            long k = key(top.a, top.b);
            long[] current = pairCounts.get(k);
            long now = current == null ? 0 : current[0];
            if (now != top.count) { // stale entry
                if (now > 0) {
                    queue.add(new Pair(now, top.a, top.b));
                }
                continue;
            }
            if (now < options.minFrequency()) {
                break;
            }
            String merged = vocab.get(top.a) + vocab.get(top.b);
            Integer newId = ids.get(merged);
            if (newId == null) {
                newId = vocab.size();
                ids.put(merged, newId);
                vocab.add(merged);
            }
            merges.add(new String[] {vocab.get(top.a), vocab.get(top.b)});

            IntList occurrences = where.remove(k);
            pairCounts.remove(k);
            increased.clear();
            for (int j = 0; j < occurrences.size; j++) {
                int w = occurrences.data[j];
                if (visited[w] == round) {
                    continue;
                }
                visited[w] = round;
                mergeWord(w, words, lens, freq[w], top.a, top.b, newId, k, pairCounts, where, increased);
            }
            for (long inc : increased) {
                long[] c = pairCounts.get(inc);
                if (c != null && c[0] > 0) {
                    queue.add(new Pair(c[0], (int) (inc >>> 32), (int) inc));
                }
            }
            round++;
        }
        return new Model(vocab, merges, n);
    }

    /** Merges every (a, b) in word w, left to right, and updates the pair counts and the occurrence lists. */
    private static void mergeWord(int w, int[][] words, int[] lens, long f, int a, int b, int newId, long mergedKey,
                                  Map<Long, long[]> pairCounts, Map<Long, IntList> where, Set<Long> increased) {
        int[] s = words[w];
        int len = lens[w];
        boolean found = false;
        for (int i = 0; i + 1 < len; i++) {
            if (s[i] == a && s[i + 1] == b) {
                found = true;
                break;
            }
        }
        if (!found) {
            return; // stale occurrence: an earlier merge removed the pair from this word
        }
        // Remove the old pairs' counts, merge, add the new pairs' counts. Words are short; this keeps it exact.
        for (int i = 0; i + 1 < len; i++) {
            long k = key(s[i], s[i + 1]);
            if (k == mergedKey) {
                continue; // removed as a whole
            }
            long[] c = pairCounts.get(k);
            c[0] -= f;
            if (c[0] <= 0) {
                pairCounts.remove(k);
            }
        }
        int out = 0;
        for (int i = 0; i < len; i++) {
            if (i + 1 < len && s[i] == a && s[i + 1] == b) {
                s[out++] = newId;
                i++;
            } else {
                s[out++] = s[i];
            }
        }
        lens[w] = out;
        for (int i = 0; i + 1 < out; i++) {
            long k = key(s[i], s[i + 1]);
            if (k == mergedKey) {
                continue; // cannot survive a left-to-right merge; guard against re-adding it anyway
            }
            long[] c = pairCounts.computeIfAbsent(k, x -> new long[1]);
            c[0] += f;
            if (s[i] == newId || s[i + 1] == newId) {
                increased.add(k);
                IntList list = where.computeIfAbsent(k, x -> new IntList());
                if (list.size == 0 || list.data[list.size - 1] != w) {
                    list.add(w);
                }
            }
        }
    }

    // ---------------------------------------------------------------- writing

    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Pretty printer with "\n" line ends on every platform, so the bytes are the same everywhere. */
    private static ObjectWriter writer() {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withObjectIndenter(indenter)
                .withArrayIndenter(indenter);
        return MAPPER.writer(printer);
    }

    static ObjectNode tokenizerJson(Model model, Options options) {
        ObjectNode root = F.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < options.specialTokens().size(); id++) {
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", options.specialTokens().get(id));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        if (options.addBos()) {
            String bos = options.bosToken();
            int bosId = options.specialTokens().indexOf(bos);
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "TemplateProcessing");
            ArrayNode single = post.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            ArrayNode pair = post.putArray("pair");
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
            pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            ObjectNode st = post.putObject("special_tokens").putObject(bos);
            st.put("id", bos);
            st.putArray("ids").add(bosId);
            st.putArray("tokens").add(bos);
        } else {
            ObjectNode post = root.putObject("post_processor");
            post.put("type", "ByteLevel");
            post.put("add_prefix_space", true);
            post.put("trim_offsets", false);
            post.put("use_regex", true);
        }
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "ByteLevel");
        dec.put("add_prefix_space", true);
        dec.put("trim_offsets", true);
        dec.put("use_regex", true);
        ObjectNode m = root.putObject("model");
        m.put("type", "BPE");
        m.putNull("dropout");
        m.putNull("unk_token");
        m.putNull("continuing_subword_prefix");
        m.putNull("end_of_word_suffix");
        m.put("fuse_unk", false);
        m.put("byte_fallback", false);
        ObjectNode vocab = m.putObject("vocab");
        for (int id = 0; id < model.vocab().size(); id++) {
            vocab.put(model.vocab().get(id), id);
        }
        ArrayNode merges = m.putArray("merges");
        for (String[] merge : model.merges()) {
            merges.add(merge[0] + " " + merge[1]);
        }
        return root;
    }

    static ObjectNode tokenizerConfigJson(Options options) {
        ObjectNode c = F.objectNode();
        c.put("add_bos_token", options.addBos());
        c.put("add_eos_token", false);
        putIfPresent(c, "bos_token", options.bosToken());
        putIfPresent(c, "eos_token", options.eosToken());
        putIfPresent(c, "unk_token", options.unkToken());
        putIfPresent(c, "pad_token", options.padToken());
        ArrayNode extra = additional(options);
        if (!extra.isEmpty()) {
            c.set("additional_special_tokens", extra);
        }
        c.put("clean_up_tokenization_spaces", false);
        c.put("model_max_length", options.modelMaxLength());
        c.put("tokenizer_class", "PreTrainedTokenizerFast");
        return c;
    }

    static ObjectNode specialTokensMapJson(Options options) {
        ObjectNode c = F.objectNode();
        putIfPresent(c, "bos_token", options.bosToken());
        putIfPresent(c, "eos_token", options.eosToken());
        putIfPresent(c, "unk_token", options.unkToken());
        putIfPresent(c, "pad_token", options.padToken());
        ArrayNode extra = additional(options);
        if (!extra.isEmpty()) {
            c.set("additional_special_tokens", extra);
        }
        return c;
    }

    private static ArrayNode additional(Options options) {
        Set<String> roles = new HashSet<>(Arrays.asList(
                options.bosToken(), options.eosToken(), options.unkToken(), options.padToken()));
        ArrayNode extra = F.arrayNode();
        for (String s : options.specialTokens()) {
            if (!roles.contains(s)) {
                extra.add(s);
            }
        }
        return extra;
    }

    private static void putIfPresent(ObjectNode node, String field, String value) {
        if (value != null) {
            node.put(field, value);
        }
    }

    private static void writeAtomically(Path target, ObjectNode json) throws IOException {
        byte[] bytes = writer().writeValueAsBytes(json);
        org.silora.hf.AtomicFiles.write(target, os -> os.write(bytes));
    }
}
