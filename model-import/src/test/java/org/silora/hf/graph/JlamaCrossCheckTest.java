package org.silora.hf.graph;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.RopeScaling;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Cross-checks our LLaMA import against an independent implementation, <a href="https://github.com/tjake/Jlama">Jlama</a>
 * ({@code com.github.tjake:jlama-core:0.8.4}), on the same checkpoint on disk.
 *
 * <p>Jlama needs Java 21+ and {@code jdk.incubator.vector}, and its classes (class file version 65) cannot be loaded
 * by the project's Java 17 test JVM. So it runs in a child process: {@code src/test/jlama/JlamaLogits.java}, launched
 * as a single-file source program under a JDK 21+ found in {@code $JAVA21_HOME} or under {@code /usr/lib/jvm}. The
 * child classpath is the module's resolved test classpath without logback, written by the maven-dependency-plugin
 * ({@code build-classpath}) to {@code target/jlama.classpath}; jlama-core itself is a test dependency only for that
 * and is excluded from the surefire classpath. Without a JDK 21+ or without that file the test is skipped.
 *
 * <p>Compared, for every position of a 16-token sequence (BOS then random ids): our logits against Jlama's raw
 * logits (absolute 1e-4), and our softmax against Jlama's {@code getLogits} probabilities (absolute 1e-5). Measured
 * when written: at most 1.3e-5 on logits and 1.5e-6 on probabilities (the tied case, whose logits are larger), about
 * 2e-6 and 5e-8 in the others.
 *
 * <p>Variants covered: GQA (4 query heads, 2 key/value heads, head_dim 32) with an untied {@code lm_head} stored in
 * F32 and in F16; multi-head attention with tied embeddings stored in BF16; linear rope scaling (factor 2) with GQA in
 * F32. The child widens F16/BF16 weights to F32 on load, so both sides compute in F32 on the same stored values (with
 * BF16 weights Jlama otherwise runs BF16 kernels and its logits differ from an F32 forward by about 1e-2).
 *
 * <p>Not covered, because Jlama 0.8.4 does not implement them for LLaMA:
 * an explicit {@code head_dim} different from {@code hidden_size / num_attention_heads} (its LlamaConfig has no
 * head_dim), llama3 and other non-linear {@code rope_scaling} (ignored), attention/MLP biases (never loaded). Sizes are
 * multiples of 32 because Jlama's SIMD kernels read whole vectors (head_dim 8 reads out of bounds with AVX-512), so
 * the odd tiny shapes of {@link TinyModels} are not usable here; they are covered against the reference forward in
 * {@link CheckpointImportTest} and {@link GraphMatchesReferenceTest}, as are sharded checkpoints.
 */
class JlamaCrossCheckTest {

    private static final String SOURCE = System.getProperty("jlama.source", "src/test/jlama/JlamaLogits.java");
    private static final String CLASSPATH_FILE = System.getProperty("jlama.classpath", "target/jlama.classpath");
    private static final int SEQ = 16;
    private static final double LOGIT_TOL = 1e-4;
    private static final double PROB_TOL = 1e-5;

    private static Path java21;
    private static String childClasspath;

    @TempDir
    Path dir;

    @BeforeAll
    static void findJlamaRuntime() throws IOException {
        Optional<Path> java = findJava21();
        assumeTrue(java.isPresent(), "Jlama cross-check skipped: no JDK 21+ (set JAVA21_HOME or install one under "
                + "/usr/lib/jvm)");
        java21 = java.get();
        Path cp = Path.of(CLASSPATH_FILE);
        assumeTrue(Files.isRegularFile(cp), "Jlama cross-check skipped: " + cp.toAbsolutePath()
                + " is missing (it is written by Maven at generate-test-resources; run the test through Maven)");
        childClasspath = Files.readString(cp).trim();
        assumeTrue(childClasspath.contains("jlama-core"), "Jlama cross-check skipped: no jlama-core in " + cp);
        assertTrue(Files.isRegularFile(Path.of(SOURCE)), "child program missing: " + Path.of(SOURCE).toAbsolutePath());
    }

    static Stream<Arguments> cases() {
        // Jlama's SIMD kernels read whole vectors (16 floats with AVX-512): head_dim, hidden and intermediate sizes
        // are multiples of 32 here (head_dim 8 reads past the end of its buffers).
        // hidden 128 / 4 heads = head_dim 32, 2 key/value heads
        LlamaConfig gqa = new LlamaConfig(1, 128, 192, 2, 4, 2, 32, 1e-5, 10000.0, RopeScaling.NONE, 64,
                false, false, false);
        LlamaConfig tiedMha = new LlamaConfig(1, 64, 128, 2, 2, 2, 32, 1e-6, 500000.0, RopeScaling.NONE, 64,
                true, false, false);
        LlamaConfig linear = new LlamaConfig(1, 128, 192, 1, 4, 2, 32, 1e-5, 10000.0,
                new RopeScaling(RopeScaling.Type.LINEAR, 2.0, 0, 0, 0), 64, false, false, false);
        return Stream.of(
                Arguments.of("gqa-untied-f32", gqa, DType.F32),
                Arguments.of("mha-tied-bf16", tiedMha, DType.BF16),
                Arguments.of("gqa-linear-rope-f32", linear, DType.F32),
                Arguments.of("gqa-untied-f16", gqa, DType.F16));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void logitsMatchJlama(String name, LlamaConfig shape, DType dtype) throws Exception {
        // Jlama loads a tokenizer.json with the model; ours is a byte-level BPE whose size fixes vocab_size.
        BpeTrainer.train(List.of(TEXT), BpeTrainer.Options.llama(300), dir);
        int vocab = new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile()).get("model").get("vocab").size();
        LlamaConfig cfg = new LlamaConfig(vocab, shape.hiddenSize(), shape.intermediateSize(), shape.numLayers(),
                shape.numHeads(), shape.numKeyValueHeads(), shape.headDim(), shape.rmsNormEps(), shape.ropeTheta(),
                shape.ropeScaling(), shape.maxPositionEmbeddings(), shape.tieWordEmbeddings(), false, false);
        TinyModels.write(dir, cfg, TinyModels.randomWeights(cfg, 23), dtype, 1);
        addTokenIds(dir.resolve("config.json"));

        int[] ids = TinyModels.randomIds(new Random(7), vocab, SEQ);
        ids[0] = 1; // <s>
        INDArray ours = CausalLm.load(dir).logits(new int[][]{ids});
        assertEquals(List.of(1L, (long) SEQ, (long) vocab), List.of(ours.shape()[0], ours.shape()[1], ours.shape()[2]));

        float[][][] jlama = runJlama(dir, ids, vocab);
        double maxLogit = 0;
        double maxProb = 0;
        double[][] oursRows = ours.reshape(SEQ, vocab).toDoubleMatrix();
        for (int t = 0; t < SEQ; t++) {
            double[] row = oursRows[t];
            double[] probs = softmax(row);
            for (int v = 0; v < vocab; v++) {
                maxLogit = Math.max(maxLogit, Math.abs(row[v] - jlama[0][t][v]));
                maxProb = Math.max(maxProb, Math.abs(probs[v] - jlama[1][t][v]));
            }
        }
        System.out.printf("Jlama cross-check %s (vocab %d): max |logit diff| %.3g, max |prob diff| %.3g%n",
                name, vocab, maxLogit, maxProb);
        assertTrue(maxLogit <= LOGIT_TOL, name + ": max |logit - Jlama logit| = " + maxLogit + " > " + LOGIT_TOL);
        assertTrue(maxProb <= PROB_TOL, name + ": max |prob - Jlama prob| = " + maxProb + " > " + PROB_TOL);
    }

    /** Jlama's LlamaConfig requires bos_token_id and eos_token_id; ours (and HF's) config loader ignores them. */
    private static void addTokenIds(Path config) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = (ObjectNode) om.readTree(config.toFile());
        root.put("bos_token_id", 1);
        root.put("eos_token_id", 2);
        Files.writeString(config, om.writeValueAsString(root));
    }

    /** Runs the child program; returns [0] raw logits and [1] probabilities, each [position][vocab]. */
    private static float[][][] runJlama(Path modelDir, int[] ids, int vocab) throws Exception {
        Path out = modelDir.resolve("jlama-out.txt");
        Path log = modelDir.resolve("jlama-log.txt");
        List<String> cmd = new ArrayList<>(List.of(java21.toString(), "--add-modules", "jdk.incubator.vector",
                "-Xmx512m", "-cp", childClasspath, SOURCE, modelDir.toString(), out.toString()));
        for (int id : ids) cmd.add(Integer.toString(id));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("Jlama child timed out; output:\n" + tail(log));
        }
        assertEquals(0, p.exitValue(), () -> "Jlama child failed; output:\n" + tail(log));
        float[][][] r = new float[2][ids.length][];
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            String[] f = line.trim().split(" ");
            int kind = switch (f[0]) {
                case "L" -> 0;
                case "P" -> 1;
                default -> throw new AssertionError("unexpected child line: " + line);
            };
            int t = Integer.parseInt(f[1]);
            assertEquals(vocab, f.length - 2, "values on child line " + f[0] + " " + t);
            float[] v = new float[vocab];
            for (int i = 0; i < vocab; i++) v[i] = Float.parseFloat(f[i + 2]);
            r[kind][t] = v;
        }
        for (int k = 0; k < 2; k++) {
            for (int t = 0; t < ids.length; t++) assertTrue(r[k][t] != null, "child wrote no row " + k + "/" + t);
        }
        return r;
    }

    private static String tail(Path log) {
        try {
            String s = Files.readString(log);
            return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    private static double[] softmax(double[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : x) max = Math.max(max, v);
        double sum = 0;
        double[] e = new double[x.length];
        for (int i = 0; i < x.length; i++) sum += e[i] = Math.exp(x[i] - max);
        for (int i = 0; i < x.length; i++) e[i] /= sum;
        return e;
    }

    /** {@code $JAVA21_HOME/bin/java}, else the newest JDK of major version 21 or more under /usr/lib/jvm. */
    static Optional<Path> findJava21() {
        List<Path> homes = new ArrayList<>();
        String env = System.getenv("JAVA21_HOME");
        if (env != null && !env.isBlank()) homes.add(Path.of(env));
        File[] jvms = new File("/usr/lib/jvm").listFiles();
        if (jvms != null) {
            for (File f : jvms) homes.add(f.toPath());
        }
        return homes.stream()
                .filter(h -> Files.isExecutable(h.resolve("bin/java")) && Files.isExecutable(h.resolve("bin/javac")))
                .filter(h -> majorVersion(h) >= 21)
                .max(Comparator.comparingInt(JlamaCrossCheckTest::majorVersion))
                .map(h -> h.resolve("bin/java"));
    }

    private static final Pattern JAVA_VERSION = Pattern.compile("^JAVA_VERSION=\"(\\d+)", Pattern.MULTILINE);

    /** The major version from the JDK's {@code release} file, or -1. */
    private static int majorVersion(Path home) {
        try {
            Matcher m = JAVA_VERSION.matcher(Files.readString(home.resolve("release")));
            return m.find() ? Integer.parseInt(m.group(1)) : -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static final String TEXT = """
            The quick brown fox jumps over the lazy dog. The dog sleeps in the sun, and the fox runs into the \
            woods. In the woods the fox finds a small stream; the stream runs down to the river, and the river \
            runs to the sea. The sea is wide and the sky is wide. A bird sings over the sea and over the woods, \
            and the dog wakes up and barks at the bird. The bird flies away over the river and the fox laughs.
            """;
}
