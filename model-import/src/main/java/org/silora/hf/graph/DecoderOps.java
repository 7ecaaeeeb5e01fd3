package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.array.SingleThreadArrayHolder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.ModelConfig;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The ops both families' forward passes are written in, over one new SameDiff graph and the base weights: token
 * embedding, the named linear modules LoRA targets (through the {@link LinearFactory}), RMSNorm, LayerNorm,
 * {@code gelu_new}, self-attention with grouped key/value heads and rotary embeddings ({@link SelfAttention}), and the
 * logits. A family class ({@code LlamaGraph}, {@code GptjGraph}) strings them together in the order of its Hugging
 * Face modeling file.
 *
 * <p>Activations are kept as {@code [tokens, width]} matrices so every linear module is one matmul; they are
 * reshaped to {@code [B, T, heads, head_dim]} only inside attention. Linear weights are stored transposed,
 * {@code [in, out]}, and applied with SameDiff's {@code linear} ({@code xw_plus_b}): its backward pass is built from
 * separate matmuls, so SameDiff computes the input gradient a frozen module needs and never the weight gradient
 * it does not (M2.1's {@code matmul} backward computes both in one op: one extra weight-sized array and matmul per
 * module and step). Base weights are stored as {@link BaseWeights#storage()} and widened one module at a time when it
 * runs. Inputs are the placeholders of {@link DecoderInputs}.
 *
 * <pre>{@code
 * DecoderOps ops = new DecoderOps(cfg, rotary, BaseWeights.frozen(weights, LinearFactory.BASE));
 * SDVariable x = ops.embed("model.embed_tokens.weight", false);
 * x = x.add(ops.selfAttention("model.layers.0.self_attn.", ops.rmsNorm("model.layers.0.input_layernorm", x, eps),
 *         "q_proj", "k_proj", "v_proj", "o_proj", false));
 * ...
 * CausalLmGraph g = ops.logits(ops.linear("lm_head", ops.maskPadding(x), hidden, vocab, false));
 * }</pre>
 */
public final class DecoderOps {

    private final ModelConfig config;
    private final Rotary rotary;
    private final BaseWeights base;
    private final SameDiff sd = SameDiff.create();
    private final DecoderInputs inputs;
    private final SelfAttention attention;
    private final Map<String, LinearModule> linears = new LinkedHashMap<>();
    private final Set<String> transposed = new LinkedHashSet<>();
    final SDVariable batch;
    final SDVariable seq;

    /** A new graph for {@code config} with its placeholders declared; nothing is read from the weights yet. */
    public DecoderOps(ModelConfig config, Rotary rotary, BaseWeights base) {
        // M2.1's default array holders (DeviceLocalNDArray, "lazy" mode) keep a duplicate of every constant and variable
        // for other devices, which never goes away on the CPU: twice the weights in memory and a copy per tensor at
        // import. The plain holders keep the one array given; SameDiff's own gradient function uses them too.
        sd.setArrayHolders(new SingleThreadArrayHolder(), new SingleThreadArrayHolder(), false);
        this.config = config;
        this.rotary = rotary;
        this.base = base;
        this.inputs = DecoderInputs.declare(sd, config.headDim());
        this.attention = new SelfAttention(this, inputs, rotary, config);
        this.batch = sd.sizeAt(inputs.ids, 0);
        this.seq = sd.sizeAt(inputs.ids, 1);
    }

    SameDiff sd() {
        return sd;
    }

    /**
     * The token embedding of the input ids: {@code [tokens, hidden]} FLOAT. A tied embedding is stored once,
     * transposed ({@code [hidden, vocab]}), as the output projection needs it; the lookup gathers its columns.
     */
    public SDVariable embed(String tensorName, boolean tied) {
        SDVariable flatIds = sd.reshape(inputs.ids, -1);
        SDVariable emb = tied ? linearWeight(tensorName) : tensor(tensorName);
        if (base.trainable()) {
            // M2.1's gather has a wrong gradient for repeated indices: one-hot times the embedding instead
            SDVariable oneHot = sd.oneHot(flatIds, config.vocabSize(), -1, 1.0, 0.0, DataType.FLOAT);
            return sd.mmul(oneHot, emb, false, tied, false);
        }
        SDVariable rows = tied ? sd.transpose(sd.gather(emb, flatIds, 1)) : sd.gather(emb, flatIds, 0);
        return rows.dataType() == DataType.FLOAT ? rows : rows.castTo(DataType.FLOAT);
    }

    /** A small base tensor (norm weight, bias) as a FLOAT graph constant named after it. */
    public SDVariable constant(String tensorName) {
        if (sd.hasVariable(tensorName)) return sd.getVariable(tensorName);
        INDArray w = base.weights().read(tensorName);
        return base.trainable() ? sd.var(tensorName, w) : sd.constant(tensorName, w);
    }

    /** A large base tensor as stored ({@link BaseWeights#storage()}), e.g. an untied embedding. */
    private SDVariable tensor(String tensorName) {
        if (sd.hasVariable(tensorName)) return sd.getVariable(tensorName);
        INDArray w = base.weights().read(tensorName, base.trainable() ? DataType.FLOAT : base.storage(), false);
        return base.trainable() ? sd.var(tensorName, w) : sd.constant(tensorName, w);
    }

    /** A linear weight {@code [out, in]} of the checkpoint, stored transposed {@code [in, out]}. */
    private SDVariable linearWeight(String tensorName) {
        if (sd.hasVariable(tensorName)) return sd.getVariable(tensorName);
        INDArray w = base.weights().read(tensorName, base.trainable() ? DataType.FLOAT : base.storage(), true);
        transposed.add(tensorName);
        return base.trainable() ? sd.var(tensorName, w) : sd.constant(tensorName, w);
    }

    /** The named linear module {@code name} (weight {@code name.weight}, bias {@code name.bias} if any). */
    public SDVariable linear(String name, SDVariable x, int in, int out, boolean bias) {
        return linear(name, x, in, out, name + ".weight", bias ? constant(name + ".bias") : null);
    }

    /**
     * As {@link #linear(String, SDVariable, int, int, boolean)} with the checkpoint tensor holding the weight (e.g. the
     * token embedding when tied) and the bias given.
     */
    public SDVariable linear(String name, SDVariable x, int in, int out, String weightTensor, SDVariable bias) {
        LinearModule m = new LinearModule(name, in, out, linearWeight(weightTensor), bias);
        linears.put(name, m);
        return base.linearFactory().apply(m, x);
    }

    /** LLaMA's RMSNorm: {@code x · rsqrt(mean(x²) + eps) · g}. */
    public SDVariable rmsNorm(String name, SDVariable x, double eps) {
        SDVariable ms = sd.mean(sd.math.square(x), true, 1);
        return x.mul(sd.math.rsqrt(ms.add(eps))).mul(name, constant(name + ".weight"));
    }

    /** LayerNorm with epsilon (SameDiff's own layerNorm has none): {@code (x − μ)·rsqrt(σ² + eps)·g + b}. */
    public SDVariable layerNorm(String name, SDVariable x, double eps) {
        SDVariable centered = x.sub(sd.mean(x, true, 1));
        SDVariable var = sd.mean(sd.math.square(centered), true, 1);
        return centered.mul(sd.math.rsqrt(var.add(eps))).mul(constant(name + ".weight"))
                .add(name, constant(name + ".bias"));
    }

    /** SiLU ({@code x·sigmoid(x)}, Hugging Face's {@code silu}, SameDiff's {@code swish}). */
    public SDVariable silu(SDVariable x) {
        return sd.nn.swish(x);
    }

    /** {@code gelu_new}: {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))} (SameDiff's gelu ops differ). */
    public SDVariable geluNew(SDVariable x) {
        SDVariable inner = x.add(sd.math.pow(x, 3.0).mul(0.044715)).mul(Math.sqrt(2.0 / Math.PI));
        return x.mul(0.5).mul(sd.math.tanh(inner).add(1.0));
    }

    /**
     * Causal self-attention on {@code x [tokens, hidden]} through the modules {@code prefix + q}, ... (see
     * {@link SelfAttention}).
     */
    public SDVariable selfAttention(String prefix, SDVariable x, String q, String k, String v, String o, boolean bias) {
        return attention.apply(prefix, x, q, k, v, o, bias);
    }

    /**
     * {@code x} with padded positions zeroed: they enter the output projection as zeros, so a loss summed over all
     * positions has no gradient from them (their logits are the bias alone).
     */
    public SDVariable maskPadding(SDVariable x) {
        return x.mul(sd.reshape(inputs.tokenMask, -1, 1));
    }

    /** The finished graph, {@code flat [tokens, vocab]} (the output projection's result) reshaped to the logits. */
    public CausalLmGraph logits(SDVariable flat) {
        SDVariable logits = sd.reshape(DecoderInputs.LOGITS, flat, shape(batch, seq, lit(config.vocabSize())));
        return new CausalLmGraph(config, sd, inputs.ids, logits, flat, Map.copyOf(linears), rotary, base.storage(),
                Set.copyOf(transposed));
    }

    SDVariable lit(long v) {
        return sd.constant(Nd4j.scalar(DataType.LONG, v));
    }

    SDVariable shape(SDVariable... dims) {
        SDVariable[] ds = new SDVariable[dims.length];
        for (int i = 0; i < dims.length; i++) ds[i] = dims[i].castTo(DataType.LONG);
        return sd.stack(0, ds);
    }
}
