package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.array.SingleThreadArrayHolder;
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
 * reshaped to {@code [B, T, heads, head_dim]} only inside attention. Linear weights are stored transposed,
 * {@code [in, out]}, and applied with SameDiff's {@code linear} ({@code xw_plus_b}): its backward pass is built from
 * separate matmuls, so SameDiff computes the input gradient a frozen module needs and never the weight gradient
 * it does not (M2.1's {@code matmul} backward computes both in one op: one extra weight-sized array and matmul per
 * module and step). Base weights are stored as FLOAT or, for inference, in 16 bits
 * ({@link #storage(DataType)}) and widened one module at a time when it runs. Inputs are placeholders:
 * {@value #INPUT_IDS} {@code [B, T]} INT, {@value #ATTENTION_BIAS} {@code [B, 1, T, T]} (0 where a query may
 * attend, a large negative number elsewhere), {@value #ROPE_COS} and {@value #ROPE_SIN}
 * {@code [B, T, 1, head_dim]}, {@value #TOKEN_MASK} {@code [B, T]} (1 for a token, 0 for padding: padded positions'
 * logits are the output bias alone). {@link CausalLm} fills them.
 */
public abstract class DecoderGraphBuilder {

    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_BIAS = "attention_bias";
    public static final String ROPE_COS = "rope_cos";
    public static final String ROPE_SIN = "rope_sin";
    public static final String TOKEN_MASK = "token_mask";
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
    private SDVariable rotationBias;
    private SDVariable tokenMask;
    private final java.util.Map<Integer, SDVariable[]> ropeTiled = new java.util.HashMap<>();
    private final java.util.Map<Integer, SDVariable> biasTiled = new java.util.HashMap<>();
    private final java.util.Set<String> transposed = new java.util.LinkedHashSet<>();
    private boolean trainable;
    private DataType storage = DataType.FLOAT;

    protected DecoderGraphBuilder(ModelConfig config, Weights weights, LinearFactory linearFactory) {
        // M2.1's default array holders (DeviceLocalNDArray, "lazy" mode) keep a duplicate of every constant and variable
        // for other devices, which never goes away on the CPU: twice the weights in memory and a copy per tensor at
        // import. The plain holders keep the one array given; SameDiff's own gradient function uses them too.
        sd.setArrayHolders(new SingleThreadArrayHolder(), new SingleThreadArrayHolder(), false);
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

    /**
     * Element type of the base weights in memory: FLOAT (default), or HALF/BFLOAT16 for inference, each weight widened
     * to FLOAT just before its module runs (half the memory; the widening costs a pass over each weight per forward
     * pass). Norm weights and biases stay FLOAT.
     */
    public DecoderGraphBuilder storage(DataType storage) {
        if (storage != DataType.FLOAT && storage != DataType.HALF && storage != DataType.BFLOAT16) {
            throw new IllegalArgumentException("base weights can be stored as FLOAT, HALF or BFLOAT16, not " + storage);
        }
        this.storage = storage;
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
        tokenMask = sd.placeHolder(TOKEN_MASK, DataType.FLOAT, -1, -1);
        rotation = sd.constant("rope_rotation", rotary().rotation());   // x·R: already [in, out]
        rotationBias = sd.constant("rope_rotation_bias", Nd4j.zeros(DataType.FLOAT, config.headDim()));
        batch = sd.sizeAt(ids, 0);
        seq = sd.sizeAt(ids, 1);

        SDVariable x = embed(sd.reshape(ids, -1));
        for (int i = 0; i < config.numLayers(); i++) {
            x = block(i, x);
        }
        x = finalNorm(x);
        // padded positions enter the output projection as zeros: a loss summed over all positions then has no
        // gradient from them (their logits are the bias alone)
        x = x.mul(sd.reshape(tokenMask, -1, 1));
        SDVariable flat = lmHead(x);
        SDVariable logits = sd.reshape(LOGITS, flat, shape(batch, seq, lit(config.vocabSize())));
        return new CausalLmGraph(config, sd, ids, logits, flat, Map.copyOf(linears), rotary(), storage,
                java.util.Set.copyOf(transposed));
    }

    /**
     * The token embedding of flat ids {@code [tokens]}: {@code [tokens, hidden]} FLOAT. A tied embedding is stored once,
     * transposed ({@code [hidden, vocab]}), as the output projection needs it; the lookup gathers its columns.
     */
    private SDVariable embed(SDVariable flatIds) {
        boolean tied = tiedEmbedding();
        SDVariable emb = tied ? linearWeight(embeddingName()) : tensor(embeddingName());
        if (trainable) {
            // M2.1's gather has a wrong gradient for repeated indices: one-hot times the embedding instead
            SDVariable oneHot = sd.oneHot(flatIds, config.vocabSize(), -1, 1.0, 0.0, DataType.FLOAT);
            return sd.mmul(oneHot, emb, false, tied, false);
        }
        SDVariable rows = tied ? sd.transpose(sd.gather(emb, flatIds, 1)) : sd.gather(emb, flatIds, 0);
        return rows.dataType() == DataType.FLOAT ? rows : rows.castTo(DataType.FLOAT);
    }

    /** True when the output projection uses the token embedding ({@code tie_word_embeddings}). */
    protected abstract boolean tiedEmbedding();

    /** Every tensor the config implies is in the weights with its shape; a one-line error otherwise. */
    void checkTensors() {
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

    /** A small frozen base tensor (norm weight, bias) as a FLOAT graph constant named after it. */
    protected SDVariable constant(String tensorName) {
        if (sd.hasVariable(tensorName)) return sd.getVariable(tensorName);
        INDArray w = weights.read(tensorName);
        return trainable ? sd.var(tensorName, w) : sd.constant(tensorName, w);
    }

    /** A large base tensor as stored ({@link #storage}), e.g. an untied embedding. */
    private SDVariable tensor(String tensorName) {
        if (sd.hasVariable(tensorName)) return sd.getVariable(tensorName);
        INDArray w = weights.read(tensorName, trainable ? DataType.FLOAT : storage, false);
        return trainable ? sd.var(tensorName, w) : sd.constant(tensorName, w);
    }

    /** A linear weight {@code [out, in]} of the checkpoint, stored transposed {@code [in, out]} ({@link #storage}). */
    private SDVariable linearWeight(String tensorName) {
        if (sd.hasVariable(tensorName)) return sd.getVariable(tensorName);
        INDArray w = weights.read(tensorName, trainable ? DataType.FLOAT : storage, true);
        transposed.add(tensorName);
        return trainable ? sd.var(tensorName, w) : sd.constant(tensorName, w);
    }

    /** The named linear module {@code name}, through the {@link LinearFactory}. */
    protected SDVariable linear(String name, SDVariable x, int in, int out, boolean bias) {
        return linear(name, x, in, out, name + ".weight", bias ? constant(name + ".bias") : null);
    }

    /**
     * As {@link #linear(String, SDVariable, int, int, boolean)} with the checkpoint tensor holding the weight (e.g. the
     * token embedding when tied).
     */
    protected SDVariable linear(String name, SDVariable x, int in, int out, String weightTensor, SDVariable bias) {
        LinearModule m = new LinearModule(name, in, out, linearWeight(weightTensor), bias);
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

        // queries carry the 1/√d of the scores in their rotary tables (one multiply per graph, not per layer)
        SDVariable qh = rope(split(linear(prefix + q, x, hidden, heads * d, bias), heads), heads, true);   // [B,T,H,D]
        SDVariable kh = rope(split(linear(prefix + k, x, hidden, kvHeads * d, bias), kvHeads), kvHeads, false);
        SDVariable vh = split(linear(prefix + v, x, hidden, kvHeads * d, bias), kvHeads);

        qh = sd.permute(qh, 0, 2, 1, 3);   // [B,H,T,D]
        kh = sd.permute(kh, 0, 2, 1, 3);   // [B,KV,T,D]
        vh = sd.permute(vh, 0, 2, 1, 3);
        if (groups > 1) {
            // head h uses key/value head h / groups (HF repeat_kv): fold the group into the query rows, and keep the
            // scores in that layout, with the bias tiled to it once per graph
            qh = sd.reshape(qh, shape(batch, lit(kvHeads), seq.mul(groups), lit(d)));
        }
        SDVariable scores = sd.mmul(qh, kh, false, true, false);               // [B,KV,G*T,T], already scaled
        SDVariable probs = sd.nn.softmax(scores.add(biasFor(groups)), -1);
        SDVariable ctx = sd.mmul(probs, vh);                                     // [B,KV,G*T,D]
        if (groups > 1) ctx = sd.reshape(ctx, shape(batch, lit(heads), seq, lit(d)));
        ctx = sd.reshape(sd.permute(ctx, 0, 2, 1, 3), -1, (long) heads * d);     // [tokens, H*D]
        return linear(prefix + o, ctx, heads * d, hidden, bias);
    }

    /** The attention bias for scores in the folded layout {@code [B, KV, G·T, T]}: tiled over the group once. */
    private SDVariable biasFor(int groups) {
        if (groups == 1) return attentionBias;
        return biasTiled.computeIfAbsent(groups, g -> sd.tile(attentionBias, 1, 1, g, 1));
    }

    /** {@code [tokens, n·D]} → {@code [B, T, n, D]}. */
    private SDVariable split(SDVariable x, int n) {
        return sd.reshape(x, shape(batch, seq, lit(n), lit(config.headDim())));
    }

    /**
     * {@code x·cos + (x·R)·sin} on {@code [B, T, n, D]}; for queries the tables carry the scores' {@code 1/√d}. The {@code [B, T, 1, D]} tables are tiled to the full
     * {@code [B, T, n, D]} once per graph and head count: multiplying by a broadcast table made every backward
     * pass reduce a gradient for the table over the heads (M2.1's broadcast {@code multiply_bp}), which nobody
     * needs and which cost 15 % of a d 512 LoRA step.
     */
    private SDVariable rope(SDVariable x, int n, boolean query) {
        SDVariable[] t = ropeTiled.computeIfAbsent(query ? -n : n, key -> {
            SDVariable c = n == 1 ? ropeCos : sd.tile(ropeCos, 1, 1, n, 1);
            SDVariable si = n == 1 ? ropeSin : sd.tile(ropeSin, 1, 1, n, 1);
            if (!query) return new SDVariable[]{c, si};
            double scale = 1.0 / Math.sqrt(config.headDim());
            return new SDVariable[]{c.mul(scale), si.mul(scale)};
        });
        SDVariable rotated = sd.reshape(sd.nn.linear(sd.reshape(x, -1, config.headDim()), rotation, rotationBias), sd.shape(x));
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
