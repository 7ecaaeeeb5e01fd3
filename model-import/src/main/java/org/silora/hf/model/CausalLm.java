package org.silora.hf.model;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.ModelConfigs;
import org.silora.hf.gptj.GptjGraph;
import org.silora.hf.graph.BaseWeights;
import org.silora.hf.graph.CausalLmGraph;
import org.silora.hf.graph.DecoderFamily;
import org.silora.hf.graph.DecoderInputs;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.graph.Weights;
import org.silora.hf.llama.LlamaGraph;
import org.silora.hf.safetensors.SafetensorsCheckpoint;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * An imported Hugging Face causal language model, runnable: token ids in, logits out, exactly as
 * {@code transformers} computes them in float32.
 *
 * <pre>{@code
 * CausalLm lm = CausalLm.load(Path.of("models/tiny-llama"));
 * INDArray logits = lm.logits(new int[][]{{1, 15, 27}});   // [1, 3, vocab]
 * }</pre>
 *
 * Padding: pass an attention mask (1 = token, 0 = padding) and padded keys are masked out; positions count
 * only real tokens, as Hugging Face's {@code generate} does, so left- and right-padded rows both give the same
 * logits at their real tokens as the unpadded sequence.
 *
 * <p>The graph is built by the config's family ({@link LlamaGraph}, {@link GptjGraph}); this class is the one place
 * that maps a config to its family, so the family packages depend on {@code org.silora.hf.graph} and nothing there
 * depends back on them.
 */
public final class CausalLm implements AutoCloseable {

    /** Added to the scores of keys a query must not see; exp of it is 0 in float32. */
    static final float MASKED = -1e9f;

    private final CausalLmGraph graph;

    private CausalLm(CausalLmGraph graph) {
        this.graph = graph;
    }

    /**
     * Checks a model folder without loading weights: {@code config.json}, every safetensors header, and that each
     * tensor the configuration implies is there with its shape. Returns the configuration; every problem is a one-line
     * {@link org.silora.hf.ModelFormatException}.
     *
     * <pre>{@code
     * ModelConfig cfg = CausalLm.validate(dir);   // then plan memory, then load
     * }</pre>
     */
    public static ModelConfig validate(Path dir) {
        ModelConfig config = ModelConfigs.load(dir);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            checkpointWeights(ckpt).require(family(config).tensorShapes(), config.architecture());
        }
        return config;
    }

    /** Loads {@code config.json} and the safetensors weights of a model folder. */
    public static CausalLm load(Path dir) {
        return load(dir, LinearFactory.BASE);
    }

    /** As {@link #load(Path)}, with each linear module built by {@code linearFactory} (e.g. with LoRA). */
    public static CausalLm load(Path dir, LinearFactory linearFactory) {
        return load(dir, linearFactory, DataType.FLOAT);
    }

    /**
     * As {@link #load(Path, LinearFactory)}, with the base weights held as {@code storage} (FLOAT, or HALF/BFLOAT16
     * for inference: half the memory, each weight widened when its module runs).
     *
     * <pre>{@code
     * CausalLm gptj = CausalLm.load(Path.of("gpt-j-6b"), LinearFactory.BASE, DataType.HALF);   // 12 GB, not 24
     * }</pre>
     */
    public static CausalLm load(Path dir, LinearFactory linearFactory, DataType storage) {
        ModelConfig config = ModelConfigs.load(dir);
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
            return build(config, checkpointWeights(ckpt), linearFactory, false, storage);
        }
    }

    /** The weights of an open checkpoint, read one tensor at a time. */
    public static Weights checkpointWeights(SafetensorsCheckpoint ckpt) {
        return new Weights() {
            @Override
            public long[] shape(String name) {
                return ckpt.contains(name) ? ckpt.info(name).shape() : null;
            }

            @Override
            public INDArray read(String name, DataType type, boolean transposed) {
                return ckpt.read(name, type, transposed);
            }

            @Override
            public Set<String> names() {
                return ckpt.names();
            }
        };
    }

    /** Builds the graph of {@code config} over {@code weights}. */
    public static CausalLm build(ModelConfig config, Weights weights, LinearFactory linearFactory) {
        return build(config, weights, linearFactory, false);
    }

    /**
     * As {@link #build(ModelConfig, Weights, LinearFactory)}; with {@code trainable} every base tensor is a
     * trainable variable (pretraining) rather than a frozen constant.
     */
    public static CausalLm build(ModelConfig config, Weights weights, LinearFactory linearFactory, boolean trainable) {
        return build(config, weights, linearFactory, trainable, DataType.FLOAT);
    }

    /** As {@link #build(ModelConfig, Weights, LinearFactory, boolean)}, base weights held as {@code storage}. */
    public static CausalLm build(ModelConfig config, Weights weights, LinearFactory linearFactory, boolean trainable,
                                 DataType storage) {
        BaseWeights base = new BaseWeights(weights, linearFactory, trainable, storage);
        return new CausalLm(family(config).build(base));
    }

    /**
     * Every tensor a checkpoint of {@code config} holds, with its shape, in the order the graph uses them (e.g. to
     * write a checkpoint of random weights, or to plan memory before loading).
     *
     * <pre>{@code
     * long parameters = CausalLm.tensorShapes(cfg).values().stream()
     *         .mapToLong(s -> java.util.Arrays.stream(s).reduce(1, Math::multiplyExact)).sum();
     * }</pre>
     */
    public static Map<String, long[]> tensorShapes(ModelConfig config) {
        return java.util.Collections.unmodifiableMap(family(config).tensorShapes());
    }

    /** The family that builds graphs of {@code config}: the one place a config is mapped to its family. */
    private static DecoderFamily family(ModelConfig config) {
        if (config instanceof LlamaConfig c) return new LlamaGraph(c);
        if (config instanceof GptjConfig c) return new GptjGraph(c);
        throw new IllegalArgumentException("unsupported config " + config.getClass().getSimpleName());
    }

    public CausalLmGraph graph() {
        return graph;
    }

    public SameDiff sameDiff() {
        return graph.sd();
    }

    public ModelConfig config() {
        return graph.config();
    }

    /**
     * Frees the off-heap arrays SameDiff caches per execution session (its default cache may grow to a quarter of the
     * machine's memory per graph, so a program that builds several models must release them). The model stays
     * usable; the next run starts a fresh session.
     */
    @Override
    public void close() {
        closeSessions(graph.sd());
        SameDiff grad = graph.sd().getFunction("grad");
        if (grad != null) closeSessions(grad);
    }

    /**
     * Frees the working arrays that forward passes ({@link #output}) keep for the next pass, leaving the training
     * pass's alone: call it when an evaluation is done, so its arrays do not sit beside training's.
     */
    public void releaseInferenceMemory() {
        closeSessions(graph.sd());
    }

    /**
     * Frees the working arrays that training passes (dl4j-si-lora's {@code org.silora.step.GradientPass}) keep for the
     * next step.
     */
    public void releaseTrainingMemory() {
        SameDiff grad = graph.sd().getFunction("grad");
        if (grad != null) closeSessions(grad);
    }

    private static void closeSessions(SameDiff sd) {
        for (org.nd4j.autodiff.samediff.internal.InferenceSession s : sd.getSessions().values()) {
            if (s.getMmgr() != null) s.getMmgr().close();
        }
        sd.getSessions().clear();
    }

    /** Logits {@code [B, T, vocab]} for unpadded rows of equal length. */
    public INDArray logits(int[][] ids) {
        return logits(ids, null);
    }

    /** Logits {@code [B, T, vocab]}; {@code mask} (1 = token, 0 = padding) may be {@code null}. */
    public INDArray logits(int[][] ids, int[][] mask) {
        return output(placeholders(ids, mask), DecoderInputs.LOGITS).get(DecoderInputs.LOGITS);
    }

    /**
     * A forward pass for the named variables, returned as arrays of the caller's. The pass's working arrays stay with
     * the graph for the next pass of the same shapes ({@link StepMemory}): repeated evaluation allocates nothing
     * after the first batch and holds no more than one pass's arrays; {@link #close()} frees them.
     *
     * <pre>{@code
     * Map<String, INDArray> out = lm.output(lm.placeholders(ids, null), DecoderInputs.LOGITS);
     * }</pre>
     */
    public Map<String, INDArray> output(Map<String, INDArray> placeholders, String... names) {
        return output(placeholders, out -> {
            Map<String, INDArray> copies = new HashMap<>();
            for (String n : names) copies.put(n, out.get(n).dup());
            return copies;
        }, names);
    }

    /**
     * A forward pass for the named variables, handed to {@code use} while they are valid (the graph's working arrays,
     * recycled after {@code use} returns): no copy of large outputs such as the logits.
     *
     * <pre>{@code
     * double first = lm.output(ph, out -> out.get("logits").getDouble(0), "logits");
     * }</pre>
     */
    public <T> T output(Map<String, INDArray> placeholders, java.util.function.Function<Map<String, INDArray>, T> use,
                        String... names) {
        SameDiff sd = graph.sd();
        StepMemory memory = StepMemory.install(sd);
        try {
            return use.apply(sd.output(placeholders, names));
        } finally {
            memory.endStep();
        }
    }

    /** The placeholder values for a batch: ids, attention bias, rotary tables, token mask. */
    public Map<String, INDArray> placeholders(int[][] ids, int[][] mask) {
        int b = ids.length;
        if (b == 0) throw new IllegalArgumentException("empty batch");
        int t = ids[0].length;
        if (t == 0) throw new IllegalArgumentException("empty sequence");
        int vocab = graph.config().vocabSize();
        int[][] positions = new int[b][t];
        float[] bias = new float[b * t * t];
        for (int r = 0; r < b; r++) {
            if (ids[r].length != t) throw new IllegalArgumentException("row " + r + " has " + ids[r].length + " ids, row 0 has " + t);
            if (mask != null && mask[r].length != t) throw new IllegalArgumentException("mask row " + r + " does not match its ids");
            int pos = 0;
            for (int j = 0; j < t; j++) {
                int id = ids[r][j];
                if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + vocab + ")");
                boolean real = mask == null || mask[r][j] != 0;
                positions[r][j] = real ? pos++ : Math.max(pos - 1, 0);
            }
            for (int q = 0; q < t; q++) {
                for (int k = 0; k < t; k++) {
                    boolean visible = k <= q && (mask == null || mask[r][k] != 0);
                    bias[(r * t + q) * t + k] = visible ? 0f : MASKED;
                }
            }
        }
        float[] tokenMask = new float[b * t];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) tokenMask[r * t + j] = mask == null || mask[r][j] != 0 ? 1f : 0f;
        }
        INDArray[] cosSin = graph.rotary().tables(positions);
        Map<String, INDArray> ph = new HashMap<>();
        ph.put(DecoderInputs.INPUT_IDS, Nd4j.createFromArray(ids).castTo(DataType.INT));
        ph.put(DecoderInputs.ATTENTION_BIAS, Nd4j.create(bias, new long[]{b, 1, t, t}, 'c'));
        ph.put(DecoderInputs.ROPE_COS, cosSin[0]);
        ph.put(DecoderInputs.ROPE_SIN, cosSin[1]);
        ph.put(DecoderInputs.TOKEN_MASK, Nd4j.create(tokenMask, new long[]{b, t}, 'c'));
        return ph;
    }
}
