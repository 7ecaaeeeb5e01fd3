package org.silora.step;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.graph.CausalLmGraph;
import org.silora.hf.graph.LinearModule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The direct LoRA pass of a LLaMA model, next to {@code modeling_llama.py}:
 * <pre>
 *   x = embed_tokens[ids]
 *   per layer:  n = rms(x)·g₁;  q, k, v = n·Wq, n·Wk, n·Wv (+ s·n·Aᵀ·Bᵀ where adapted);  rope(q), rope(k)
 *               x2 = x + attention(q, k, v)·Wo
 *               n = rms(x2)·g₂;  out = x2 + (silu(n·Wgate) · n·Wup)·Wdown
 *   logits = rms(x)·g·W_lm_head;  loss = Σ over labelled tokens of −log softmax(logits)[label]
 * </pre>
 * and its backward pass in reverse, down to the lowest adapted layer. See {@link DirectStep}.
 *
 * <pre>{@code
 * try (DirectStep step = new DirectLlamaStep(lm.graph(), factors, 2)) {
 *     DirectStep.Result r = step.run(ids, lengths, labels, false);
 * }
 * }</pre>
 */
public final class DirectLlamaStep implements DirectStep {

    private record Layer(Region g1, Linear q, Linear k, Linear v, Linear o, Region g2, Linear gate, Linear up, Linear down) {
        List<Linear> modules() {
            return List.of(q, k, v, o, gate, up, down);
        }

        boolean adapted() {
            return modules().stream().anyMatch(Linear::adapted);
        }
    }


    private final LlamaConfig cfg;
    private final Region embedding;     // [V, d]; null when tied (then lm_head's [d, V])
    private final List<Layer> layers = new ArrayList<>();
    private final Region finalNorm;
    private final Linear lmHead;
    private final List<Linear> modules = new ArrayList<>();
    private final int lowestAdapted;
    private final Attention attention;
    private final StepRuntime rt;

    public DirectLlamaStep(CausalLmGraph graph, Map<String, Lora> lora, int threads) {
        if (!(graph.config() instanceof LlamaConfig c)) throw new IllegalArgumentException("not a LLaMA model: " + graph.config().architecture());
        if (lora.isEmpty()) throw new IllegalArgumentException("the direct step trains LoRA factors: none given");
        this.cfg = c;
        SameDiff sd = graph.sd();
        Map<String, LinearModule> linears = graph.linears();
        Map<String, Lora> left = new LinkedHashMap<>(lora);
        int lowest = cfg.numLayers();
        for (int i = 0; i < cfg.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            Layer l = new Layer(Region.of(sd.getArrForVarName(p + "input_layernorm.weight")),
                    Passes.linear(linears, left, p + "self_attn.q_proj"), Passes.linear(linears, left, p + "self_attn.k_proj"),
                    Passes.linear(linears, left, p + "self_attn.v_proj"), Passes.linear(linears, left, p + "self_attn.o_proj"),
                    Region.of(sd.getArrForVarName(p + "post_attention_layernorm.weight")),
                    Passes.linear(linears, left, p + "mlp.gate_proj"), Passes.linear(linears, left, p + "mlp.up_proj"),
                    Passes.linear(linears, left, p + "mlp.down_proj"));
            if (l.adapted()) lowest = Math.min(lowest, i);
            layers.add(l);
            modules.addAll(l.modules());
        }
        this.finalNorm = Region.of(sd.getArrForVarName("model.norm.weight"));
        this.lmHead = Passes.linear(linears, left, "lm_head");
        modules.add(lmHead);
        if (!left.isEmpty()) throw new IllegalArgumentException("no linear module named " + left.keySet().iterator().next());
        this.lowestAdapted = lowest;
        this.embedding = cfg.tieWordEmbeddings() ? null : Region.of(sd.getArrForVarName("model.embed_tokens.weight"));
        this.attention = new Attention(cfg.numHeads(), cfg.numKeyValueHeads(), cfg.headDim(), graph.rotary(), cfg.headDim(), false);
        this.rt = new StepRuntime(threads);
    }

    @Override
    public Result run(int[][] ids, int[] lengths, int[][] labels, boolean keepModuleTensors) {
        Passes.Batch batch = Passes.Batch.of(ids, lengths, labels, cfg.vocabSize());
        return Passes.withBlasOnOneThread(rt, () -> pass(batch, keepModuleTensors));
    }

    private Result pass(Passes.Batch batch, boolean keepModuleTensors) {
        int n = batch.n();
        int d = cfg.hiddenSize();
        int layersN = cfg.numLayers();
        int vocab = cfg.vocabSize();
        boolean keepProbs = Attention.keepsProbs(cfg.numHeads(), batch.bsz(), batch.t(), layersN);
        Map<String, INDArray> inputs = keepModuleTensors ? new LinkedHashMap<>() : null;
        Map<String, INDArray> outGrads = keepModuleTensors ? new LinkedHashMap<>() : null;

        // forward: the residual stream at every layer boundary is kept
        Region[] xs = new Region[layersN + 1];
        xs[0] = rt.work("x0", (long) n * d);
        Passes.embed(rt, batch, embedding, lmHead.w, d, vocab, xs[0]);
        for (int i = 0; i < layersN; i++) {
            xs[i + 1] = rt.work("x" + (i + 1), (long) n * d);
            boolean trained = i >= lowestAdapted;   // layers below the lowest adapted one share one set of arrays
            layerForward(layers.get(i), xs[i], xs[i + 1], trained ? "l" + i + "." : "f.", batch, trained && keepProbs);
        }
        Region rf = rt.work("rf", n);
        Region xf = rt.work("xf", (long) n * d);
        rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
            for (int row = lo; row < hi; row++) rf.set(row, Kernels.rmsNorm(xs[layersN], row * d, d, cfg.rmsNormEps(), finalNorm, xf, row * d));
            Passes.zeroPadding(batch, xf, d, lo, hi);
        }));
        Region logits = rt.work("logits", (long) n * vocab);
        Region uHead = lmHead.u(rt, "", n);
        lmHead.forward(rt, xf, n, logits, uHead);
        double nll = Passes.loss(rt, batch, logits, vocab);   // logits now hold the loss's gradient

        // backward
        Region dx = rt.work("dx", (long) n * d);
        Region dxf = rt.work("dxf", (long) n * d);
        boolean layersTrained = lowestAdapted < layersN;
        Passes.keep(rt, inputs, outGrads, lmHead, xf, logits, n);
        lmHead.backward(rt, logits, xf, uHead, n, layersTrained ? dxf : null, false);
        if (layersTrained) {
            rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
                for (int row = lo; row < hi; row++) {
                    Kernels.rmsNormBackward(xs[layersN], row * d, d, rf.get(row), finalNorm, dxf, row * d, dx, row * d, false);
                }
            }));
        }
        for (int i = layersN - 1; i >= lowestAdapted; i--) {
            layerBackward(layers.get(i), xs[i], dx, "l" + i + ".", batch, keepProbs, i > lowestAdapted, inputs, outGrads);
        }
        return Passes.result(nll, batch.tokens(), modules, inputs, outGrads);
    }

    private void layerForward(Layer l, Region x, Region out, String p, Passes.Batch batch, boolean keepProbs) {
        int n = batch.n();
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        double eps = cfg.rmsNormEps();
        // attention
        Region r1 = rt.work(p + "r1", n);
        Region n1 = rt.work(p + "n1", (long) n * d);
        rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
            for (int row = lo; row < hi; row++) r1.set(row, Kernels.rmsNorm(x, row * d, d, eps, l.g1, n1, row * d));
        }));
        Region q = rt.work(p + "q", (long) n * l.q.out);
        Region k = rt.work(p + "k", (long) n * l.k.out);
        Region v = rt.work(p + "v", (long) n * l.v.out);
        l.q.forward(rt, n1, n, q, l.q.u(rt, p, n));
        l.k.forward(rt, n1, n, k, l.k.u(rt, p, n));
        l.v.forward(rt, n1, n, v, l.v.u(rt, p, n));
        attention.rope(rt, q, k, n, batch.pos(), batch.t());
        Region att = rt.work(p + "att", (long) n * l.q.out);
        Region probs = keepProbs ? rt.work(p + "probs", attention.probsLength(batch.bsz(), batch.t())) : null;
        attention.forward(rt, q, k, v, att, probs, batch.bsz(), batch.t(), batch.lengths());
        Region ao = rt.work("ao", (long) n * d);
        l.o.forward(rt, att, n, ao, l.o.u(rt, p, n));
        Region x2 = rt.work(p + "x2", (long) n * d);
        rt.timed("residual", () -> rt.par.forRanges(n * d, (lo, hi) -> {
            for (int i = lo; i < hi; i++) x2.buf.put(i, x.buf.get(i) + ao.buf.get(i));
        }));
        // MLP
        Region r2 = rt.work(p + "r2", n);
        Region n2 = rt.work(p + "n2", (long) n * d);
        rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
            for (int row = lo; row < hi; row++) r2.set(row, Kernels.rmsNorm(x2, row * d, d, eps, l.g2, n2, row * d));
        }));
        Region g = rt.work(p + "g", (long) n * f);
        Region u = rt.work(p + "up", (long) n * f);
        l.gate.forward(rt, n2, n, g, l.gate.u(rt, p, n));
        l.up.forward(rt, n2, n, u, l.up.u(rt, p, n));
        Region a = rt.work(p + "a", (long) n * f);
        Region sg = rt.work(p + "sg", (long) n * f);
        rt.timed("activation", () -> rt.par.forRanges(n * f, (lo, hi) -> Kernels.swiGlu(g, u, sg, a, lo, hi)));
        Region mo = rt.work("mo", (long) n * d);
        l.down.forward(rt, a, n, mo, l.down.u(rt, p, n));
        rt.timed("residual", () -> rt.par.forRanges(n * d, (lo, hi) -> {
            for (int i = lo; i < hi; i++) out.buf.put(i, x2.buf.get(i) + mo.buf.get(i));
        }));
    }

    /** {@code dx} holds the gradient at the layer's output on entry and at its input on return (when needed). */
    private void layerBackward(Layer l, Region x, Region dx, String p, Passes.Batch batch, boolean keepProbs, boolean needInputGrad,
                               Map<String, INDArray> inputs, Map<String, INDArray> outGrads) {
        int n = batch.n();
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        Region n1 = rt.existing(p + "n1");
        Region r1 = rt.existing(p + "r1");
        Region x2 = rt.existing(p + "x2");
        Region r2 = rt.existing(p + "r2");
        Region n2 = rt.existing(p + "n2");
        Region g = rt.existing(p + "g");
        Region u = rt.existing(p + "up");
        Region a = rt.existing(p + "a");
        Region sg = rt.existing(p + "sg");
        Region att = rt.existing(p + "att");
        Region q = rt.existing(p + "q");
        Region k = rt.existing(p + "k");
        Region v = rt.existing(p + "v");

        // MLP: d(out) = d(x2) through the residual; down, SwiGLU, gate and up, the second norm
        Region da = rt.work("da", (long) n * f);
        Passes.keep(rt, inputs, outGrads, l.down, a, dx, n);
        l.down.backward(rt, dx, a, l.down.u(rt, p, n), n, da, false);
        Region du = rt.work("du", (long) n * f);
        rt.timed("activation", () -> rt.par.forRanges(n * f, (lo, hi) -> Kernels.swiGluBackward(g, u, sg, da, du, lo, hi)));   // da ← d(gate)
        Passes.keep(rt, inputs, outGrads, l.gate, n2, da, n);
        Passes.keep(rt, inputs, outGrads, l.up, n2, du, n);
        Region dn = rt.work("dn", (long) n * d);
        l.gate.backward(rt, da, n2, l.gate.u(rt, p, n), n, dn, false);
        l.up.backward(rt, du, n2, l.up.u(rt, p, n), n, dn, true);
        rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
            for (int row = lo; row < hi; row++) Kernels.rmsNormBackward(x2, row * d, d, r2.get(row), l.g2, dn, row * d, dx, row * d, true);
        }));
        // attention: dx now holds d(x2) = d(att·Wo)
        Region datt = rt.work("datt", (long) n * l.q.out);
        Passes.keep(rt, inputs, outGrads, l.o, att, dx, n);
        l.o.backward(rt, dx, att, l.o.u(rt, p, n), n, datt, false);
        Region dq = rt.work("dq", (long) n * l.q.out);
        Region dk = rt.work("dk", (long) n * l.k.out);
        Region dv = rt.work("dv", (long) n * l.v.out);
        attention.backward(rt, q, k, v, datt, dq, dk, dv, keepProbs ? rt.existing(p + "probs") : null, batch.bsz(), batch.t(), batch.lengths());
        attention.ropeBackward(rt, dq, dk, n, batch.pos(), batch.t());
        Passes.keep(rt, inputs, outGrads, l.q, n1, dq, n);
        Passes.keep(rt, inputs, outGrads, l.k, n1, dk, n);
        Passes.keep(rt, inputs, outGrads, l.v, n1, dv, n);
        Region dn1 = needInputGrad ? dn : null;
        l.q.backward(rt, dq, n1, l.q.u(rt, p, n), n, dn1, false);
        l.k.backward(rt, dk, n1, l.k.u(rt, p, n), n, dn1, true);
        l.v.backward(rt, dv, n1, l.v.u(rt, p, n), n, dn1, true);
        if (needInputGrad) {
            rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
                for (int row = lo; row < hi; row++) Kernels.rmsNormBackward(x, row * d, d, r1.get(row), l.g1, dn, row * d, dx, row * d, true);
            }));
        }
    }

    /**
     * Bytes of working arrays a pass of {@code batch} rows of {@code seq} tokens allocates: what {@link #workingBytes()}
     * measures afterwards, plus the rotary tables and, with {@code keepModuleTensors}, the copies of each adapted
     * module's input and output gradient. For the memory plan, before anything is loaded.
     *
     * @param adapted rank by adapted module name (Hugging Face names)
     */
    public static long plannedWorkingBytes(LlamaConfig cfg, int batch, int seq, int threads, Map<String, Integer> adapted,
                                           boolean keepModuleTensors) {
        long n = (long) batch * seq;
        long d = cfg.hiddenSize();
        long qw = (long) cfg.numHeads() * cfg.headDim();
        long kw = (long) cfg.numKeyValueHeads() * cfg.headDim();
        long f = cfg.intermediateSize();
        int layersN = cfg.numLayers();
        int lowest = layersN;
        int maxR = 0;
        long loraU = 0;
        long kept = 0;
        for (Map.Entry<String, Integer> e : adapted.entrySet()) {
            String name = e.getKey();
            maxR = Math.max(maxR, e.getValue());
            loraU += n * e.getValue();
            if (name.startsWith("model.layers.")) lowest = Math.min(lowest, Integer.parseInt(name.substring(13, name.indexOf('.', 13))));
            if (keepModuleTensors) kept += n * (width(cfg, name, true) + width(cfg, name, false));
        }
        long perLayer = 2 * n + 3 * n * d + 2 * n * qw + 2 * n * kw + 4 * n * f;   // norms' r, n1 x2 n2, q att, k v, g up a σ
        long stored = layersN - lowest;
        boolean keepProbs = Attention.keepsProbs(cfg.numHeads(), batch, seq, layersN);
        long probs = keepProbs ? stored * (long) batch * cfg.numHeads() * seq * seq : 0;
        long floats = (layersN + 1) * n * d                          // the residual stream at every layer boundary
                + stored * perLayer + (lowest > 0 ? perLayer : 0)      // per trained layer; one shared set below
                + loraU + probs
                + n + 6 * n * d + n * cfg.vocabSize()                  // final norm, shared [n, d] arrays, logits
                + 2 * n * f + 2 * n * qw + 2 * n * kw + n * maxR       // backward scratch
                + (long) threads * 2 * seq * seq                       // backward score tiles
                + (keepProbs && lowest == 0 ? 0 : (long) threads * seq * seq)
                + 2L * seq * cfg.headDim();                            // rotary tables by position
        return 4 * (floats + kept);
    }

    private static long width(LlamaConfig cfg, String name, boolean input) {
        long d = cfg.hiddenSize();
        long qw = (long) cfg.numHeads() * cfg.headDim();
        long kw = (long) cfg.numKeyValueHeads() * cfg.headDim();
        long f = cfg.intermediateSize();
        if (name.endsWith("q_proj")) return input ? d : qw;
        if (name.endsWith("k_proj") || name.endsWith("v_proj")) return input ? d : kw;
        if (name.endsWith("o_proj")) return input ? qw : d;
        if (name.endsWith("gate_proj") || name.endsWith("up_proj")) return input ? d : f;
        if (name.endsWith("down_proj")) return input ? f : d;
        return input ? d : cfg.vocabSize();   // lm_head
    }

    @Override
    public int threads() {
        return rt.par.threads();
    }

    @Override
    public long workingBytes() {
        return rt.workingBytes();
    }

    @Override
    public void releaseWorkingMemory() {
        rt.release();
    }

    @Override
    public void profile(boolean on) {
        rt.profile(on);
    }

    @Override
    public Map<String, double[]> phases() {
        return rt.phases();
    }

    @Override
    public void close() {
        rt.close();
    }
}
