package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.ModelFormatException;
import org.silora.hf.config.ModelConfig;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one decoder-only transformer builder both families use. It owns what they share: token embedding,
 * multi-head attention with grouped key/value heads, rotary embeddings and an additive attention bias (causal and
 * padding), RMSNorm/LayerNorm, the final projection, and the named linear modules LoRA targets. A family
 * subclass says only how its block is wired ({@link #block}) and what its tensors are called.
 *
 * <p>Activations are kept as {@code [tokens, width]} matrices so every linear module is one matmul; they are
 * reshaped to {@code [B, T, heads, head_dim]} only inside attention. Inputs are placeholders:
 * {@value #INPUT_IDS} {@code [B, T]} INT, {@value #ATTENTION_BIAS} {@code [B, 1, T, T]} (0 where a query may
 * attend, a large negative number elsewhere), {@value #ROPE_COS} and {@value #ROPE_SIN}
 * {@code [B, T, 1, head_dim]}. {@link CausalLm} fills them.
 */
public abstract class DecoderGraphBuilder {

    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_BIAS = "attention_bias";
    public static final String ROPE_COS = "rope_cos";
    public static final String ROPE_SIN = "rope_sin";
    public static final String LOGITS = "logits";

    protected final ModelConfig config;
    protected final SameDiff sd = SameDiff.create();
    private final Weights weights;
    private final LinearFactory linearFactory;
    private final Map<String, LinearModule> linears = new LinkedHashMap<>();

    private SDVariable batch;
    private SDVariable seq;
    private SDVariable attentionBias;
    private SDVariable ropeCos;
    private SDVariable ropeSin;
    private SDVariable rotation;
    private final java.util.Map<Integer, SDVariable[]> ropeTiled = new java.util.HashMap<>();
    private boolean trainable;

    protected DecoderGraphBuilder(ModelConfig config, Weights weights, LinearFactory linearFactory) {
        this.config = config;
        this.weights = weights;
        this.linearFactory = linearFactory == null ? LinearFactory.BASE : linearFactory;
    }

    /**
     * Makes every base tensor a trainable variable instead of a frozen constant (for pretraining). The token
     * embedding is then applied as {@code oneHot(ids)·E}: M2.1's {@code gather} has a wrong gradient for repeated
     * indices.
     */
    public DecoderGraphBuilder trainable(boolean trainable) {
        this.trainable = trainable;
        return this;
    }

    /** Every tensor the family needs with its expected shape, checked against the weights before anything loads. */
    protected abstract Map<String, long[]> expectedTensors();

    /** The token embedding's tensor name. */
    protected abstract String embeddingName();

    /** One transformer block: {@code x [tokens, hidden]} in, same shape out. */
    protected abstract SDVariable block(int layer, SDVariable x);

    /** The final norm before the output projection. */
    protected abstract SDVariable finalNorm(SDVariable x);

    /** The output projection's module ({@code lm_head}), possibly tied to the embedding. */
    protected abstract SDVariable lmHead(SDVariable x);

    /** The rotary embedding of this family and config. */
    public abstract Rotary rotary();

    /** Builds the graph: validate all tensor names and shapes first, then load one tensor at a time. */
    public CausalLmGraph build() {
        checkTensors();
        SDVariable ids = sd.placeHolder(INPUT_IDS, DataType.INT, -1, -1);
        attentionBias = sd.placeHolder(ATTENTION_BIAS, DataType.FLOAT, -1, 1, -1, -1);
        ropeCos = sd.placeHolder(ROPE_COS, DataType.FLOAT, -1, -1, 1, config.headDim());
        ropeSin = sd.placeHolder(ROPE_SIN, DataType.FLOAT, -1, -1, 1, config.headDim());
        rotation = sd.constant("rope_rotation", rotary().rotation());
        batch = sd.sizeAt(ids, 0);
        seq = sd.sizeAt(ids, 1);

        SDVariable emb = constant(embeddingName());
        SDVariable x = trainable
                ? sd.mmul(sd.oneHot(sd.reshape(ids, -1), config.vocabSize(), -1, 1.0, 0.0, DataType.FLOAT), emb)
                : sd.reshape(sd.gather(emb, ids, 0), -1, config.hiddenSize());
        for (int i = 0; i < config.numLayers(); i++) {
            x = block(i, x);
        }
        x = finalNorm(x);
        SDVariable flat = lmHead(x);
        SDVariable logits = sd.reshape(LOGITS, flat, shape(batch, seq, lit(config.vocabSize())));
        return new CausalLmGraph(config, sd, ids, logits, Map.copyOf(linears), rotary());
    }

    private void checkTensors() {
        for (Map.Entry<String, long[]> e : expectedTensors().entrySet()) {
            long[] actual = weights.shape(e.getKey());
            if (actual == null) {
                throw new ModelFormatException("missing tensor '" + e.getKey() + "' required by " + config.architecture());
            }
            if (!Arrays.equals(actual, e.getValue())) {
                throw new ModelFormatException("tensor '" + e.getKey() + "' has shape " + Arrays.toString(actual)
                        + ", config.json implies " + Arrays.toString(e.getValue()));
            }
        }
    }

    // ---- building blocks shared by the families ----

    /** A frozen base tensor as a graph constant named after it. */
    protected SDVariable constant(String tensorName) {
        if (sd.hasVariable(tensorName)) return sd.getVariable(tensorName);
        INDArray w = weights.read(tensorName);
        return trainable ? sd.var(tensorName, w) : sd.constant(tensorName, w);
    }

    /** The named linear module {@code name}, through the {@link LinearFactory}. */
    protected SDVariable linear(String name, SDVariable x, int in, int out, boolean bias) {
        return linear(name, x, in, out, constant(name + ".weight"), bias ? constant(name + ".bias") : null);
    }

    /** As {@link #linear(String, SDVariable, int, int, boolean)} with an explicit (e.g. tied) weight. */
    protected SDVariable linear(String name, SDVariable x, int in, int out, SDVariable weight, SDVariable bias) {
        LinearModule m = new LinearModule(name, in, out, weight, bias);
        linears.put(name, m);
        return linearFactory.apply(m, x);
    }

    /** LLaMA's RMSNorm: {@code x · rsqrt(mean(x²) + eps) · g}. */
    protected SDVariable rmsNorm(String name, SDVariable x, double eps) {
        SDVariable ms = sd.mean(sd.math.square(x), true, 1);
        return x.mul(sd.math.rsqrt(ms.add(eps))).mul(name, constant(name + ".weight"));
    }

    /** LayerNorm with epsilon (SameDiff's own layerNorm has none): {@code (x − μ)·rsqrt(σ² + eps)·g + b}. */
    protected SDVariable layerNorm(String name, SDVariable x, double eps) {
        SDVariable centered = x.sub(sd.mean(x, true, 1));
        SDVariable var = sd.mean(sd.math.square(centered), true, 1);
        return centered.mul(sd.math.rsqrt(var.add(eps))).mul(constant(name + ".weight"))
                .add(name, constant(name + ".bias"));
    }

    /** {@code gelu_new}: {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))} (SameDiff's gelu ops differ). */
    protected SDVariable geluNew(SDVariable x) {
        SDVariable inner = x.add(sd.math.pow(x, 3.0).mul(0.044715)).mul(Math.sqrt(2.0 / Math.PI));
        return x.mul(0.5).mul(sd.math.tanh(inner).add(1.0));
    }

    /**
     * Causal self-attention on {@code x [tokens, hidden]}: projections through the named modules, rotary on
     * queries and keys, grouped key/value heads without copying them, additive bias, softmax, output projection.
     */
    protected SDVariable attention(String prefix, SDVariable x, String q, String k, String v, String o, boolean bias) {
        int hidden = config.hiddenSize();
        int heads = config.numHeads();
        int kvHeads = config.numKeyValueHeads();
        int d = config.headDim();
        int groups = heads / kvHeads;

        SDVariable qh = rope(split(linear(prefix + q, x, hidden, heads * d, bias), heads), heads);   // [B,T,H,D]
        SDVariable kh = rope(split(linear(prefix + k, x, hidden, kvHeads * d, bias), kvHeads), kvHeads);
        SDVariable vh = split(linear(prefix + v, x, hidden, kvHeads * d, bias), kvHeads);

        qh = sd.permute(qh, 0, 2, 1, 3);   // [B,H,T,D]
        kh = sd.permute(kh, 0, 2, 1, 3);   // [B,KV,T,D]
        vh = sd.permute(vh, 0, 2, 1, 3);
        if (groups > 1) {
            // head h uses key/value head h / groups (HF repeat_kv): fold the group into the query rows
            qh = sd.reshape(qh, shape(batch, lit(kvHeads), seq.mul(groups), lit(d)));
        }
        SDVariable scores = sd.mmul(qh, kh, false, true, false).mul(1.0 / Math.sqrt(d));
        if (groups > 1) scores = sd.reshape(scores, shape(batch, lit(heads), seq, seq));
        SDVariable probs = sd.nn.softmax(scores.add(attentionBias), -1);
        if (groups > 1) probs = sd.reshape(probs, shape(batch, lit(kvHeads), seq.mul(groups), seq));
        SDVariable ctx = sd.mmul(probs, vh);                                     // [B,KV,G*T,D]
        if (groups > 1) ctx = sd.reshape(ctx, shape(batch, lit(heads), seq, lit(d)));
        ctx = sd.reshape(sd.permute(ctx, 0, 2, 1, 3), -1, (long) heads * d);     // [tokens, H*D]
        return linear(prefix + o, ctx, heads * d, hidden, bias);
    }

    /** {@code [tokens, n·D]} → {@code [B, T, n, D]}. */
    private SDVariable split(SDVariable x, int n) {
        return sd.reshape(x, shape(batch, seq, lit(n), lit(config.headDim())));
    }

    /**
     * {@code x·cos + (x·R)·sin} on {@code [B, T, n, D]}. The {@code [B, T, 1, D]} tables are tiled to the full
     * {@code [B, T, n, D]} once per graph and head count: multiplying by a broadcast table made every backward
     * pass reduce a gradient for the table over the heads (M2.1's broadcast {@code multiply_bp}), which nobody
     * needs and which cost 15 % of a d 512 LoRA step.
     */
    private SDVariable rope(SDVariable x, int n) {
        SDVariable[] t = n == 1 ? new SDVariable[]{ropeCos, ropeSin}
                : ropeTiled.computeIfAbsent(n, k -> new SDVariable[]{sd.tile(ropeCos, 1, 1, k, 1), sd.tile(ropeSin, 1, 1, k, 1)});
        SDVariable rotated = sd.reshape(sd.mmul(sd.reshape(x, -1, config.headDim()), rotation), sd.shape(x));
        return x.mul(t[0]).add(rotated.mul(t[1]));
    }

    private SDVariable lit(long v) {
        return sd.constant(Nd4j.scalar(DataType.LONG, v));
    }

    private SDVariable shape(SDVariable... dims) {
        SDVariable[] ds = new SDVariable[dims.length];
        for (int i = 0; i < dims.length; i++) ds[i] = dims[i].castTo(DataType.LONG);
        return sd.stack(0, ds);
    }
}
