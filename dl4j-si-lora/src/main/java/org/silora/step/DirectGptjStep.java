package org.silora.step;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.graph.CausalLmGraph;
import org.silora.hf.graph.LinearModule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The direct LoRA pass of a GPT-J model, next to {@code modeling_gptj.py}: attention and MLP in parallel on one norm.
 * <pre>
 *   x = wte[ids]
 *   per layer:  n = ln_1(x);  q, k, v = n·Wq, n·Wk, n·Wv (+ s·n·Aᵀ·Bᵀ where adapted);  rope(q), rope(k) on rotary_dim
 *               out = x + attention(q, k, v)·Wout + gelu_new(n·Wfc_in + b)·Wfc_out + b
 *   logits = ln_f(x)·W_lm_head + b;  loss = Σ over labelled tokens of −log softmax(logits)[label]
 * </pre>
 * and its backward pass in reverse, down to the lowest adapted layer. See {@link DirectStep}.
 *
 * <pre>{@code
 * try (DirectStep step = new DirectGptjStep(lm.graph(), factors, 2)) {
 *     DirectStep.Result r = step.run(ids, lengths, labels, false);
 * }
 * }</pre>
 */
public final class DirectGptjStep implements DirectStep {

    private record Layer(Region lnW, Region lnB, Linear q, Linear k, Linear v, Linear out, Linear fcIn, Linear fcOut) {
        List<Linear> modules() {
            return List.of(q, k, v, out, fcIn, fcOut);
        }

        boolean adapted() {
            return modules().stream().anyMatch(Linear::adapted);
        }
    }


    private final GptjConfig cfg;
    private final Region embedding;     // [V, d]; null when tied (then lm_head's [d, V])
    private final List<Layer> layers = new ArrayList<>();
    private final Region lnFW;
    private final Region lnFB;
    private final Linear lmHead;
    private final List<Linear> modules = new ArrayList<>();
    private final int lowestAdapted;
    private final Attention attention;
    private final StepRuntime rt;

    public DirectGptjStep(CausalLmGraph graph, Map<String, Lora> lora, int threads) {
        if (!(graph.config() instanceof GptjConfig c)) throw new IllegalArgumentException("not a GPT-J model: " + graph.config().architecture());
        if (lora.isEmpty()) throw new IllegalArgumentException("the direct step trains LoRA factors: none given");
        this.cfg = c;
        SameDiff sd = graph.sd();
        Map<String, LinearModule> linears = graph.linears();
        Map<String, Lora> left = new LinkedHashMap<>(lora);
        int lowest = cfg.numLayers();
        for (int i = 0; i < cfg.numLayers(); i++) {
            String p = "transformer.h." + i + ".";
            Layer l = new Layer(Region.of(sd.getArrForVarName(p + "ln_1.weight")), Region.of(sd.getArrForVarName(p + "ln_1.bias")),
                    Passes.linear(linears, left, p + "attn.q_proj"), Passes.linear(linears, left, p + "attn.k_proj"),
                    Passes.linear(linears, left, p + "attn.v_proj"), Passes.linear(linears, left, p + "attn.out_proj"),
                    Passes.linear(linears, left, p + "mlp.fc_in"), Passes.linear(linears, left, p + "mlp.fc_out"));
            if (l.adapted()) lowest = Math.min(lowest, i);
            layers.add(l);
            modules.addAll(l.modules());
        }
        this.lnFW = Region.of(sd.getArrForVarName("transformer.ln_f.weight"));
        this.lnFB = Region.of(sd.getArrForVarName("transformer.ln_f.bias"));
        this.lmHead = Passes.linear(linears, left, "lm_head");
        modules.add(lmHead);
        if (!left.isEmpty()) throw new IllegalArgumentException("no linear module named " + left.keySet().iterator().next());
        this.lowestAdapted = lowest;
        this.embedding = cfg.tieWordEmbeddings() ? null : Region.of(sd.getArrForVarName("transformer.wte.weight"));
        this.attention = new Attention(cfg.numHeads(), cfg.numHeads(), cfg.headDim(), graph.rotary(), cfg.rotaryDim(), true);
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
        double eps = cfg.layerNormEpsilon();
        boolean keepProbs = Attention.keepsProbs(cfg.numHeads(), batch.bsz(), batch.t(), layersN);
        Map<String, INDArray> inputs = keepModuleTensors ? new LinkedHashMap<>() : null;
        Map<String, INDArray> outGrads = keepModuleTensors ? new LinkedHashMap<>() : null;

        Region[] xs = new Region[layersN + 1];
        xs[0] = rt.work("x0", (long) n * d);
        Passes.embed(rt, batch, embedding, lmHead.w, d, vocab, xs[0]);
        for (int i = 0; i < layersN; i++) {
            xs[i + 1] = rt.work("x" + (i + 1), (long) n * d);
            boolean trained = i >= lowestAdapted;
            layerForward(layers.get(i), xs[i], xs[i + 1], trained ? "l" + i + "." : "f.", batch, trained && keepProbs);
        }
        Region sf = rt.work("sf", 2L * n);
        Region xf = rt.work("xf", (long) n * d);
        rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
            for (int row = lo; row < hi; row++) Kernels.layerNorm(xs[layersN], row * d, d, eps, lnFW, lnFB, xf, row * d, sf, row);
            Passes.zeroPadding(batch, xf, d, lo, hi);
        }));
        Region logits = rt.work("logits", (long) n * vocab);
        Region uHead = lmHead.u(rt, "", n);
        lmHead.forward(rt, xf, n, logits, uHead);
        double nll = Passes.loss(rt, batch, logits, vocab);

        Region dx = rt.work("dx", (long) n * d);
        Region dxf = rt.work("dxf", (long) n * d);
        boolean layersTrained = lowestAdapted < layersN;
        Passes.keep(rt, inputs, outGrads, lmHead, xf, logits, n);
        lmHead.backward(rt, logits, xf, uHead, n, layersTrained ? dxf : null, false);
        if (layersTrained) {
            rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
                for (int row = lo; row < hi; row++) {
                    Kernels.layerNormBackward(xs[layersN], row * d, d, sf, row, lnFW, dxf, row * d, dx, row * d, false);
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
        double eps = cfg.layerNormEpsilon();
        Region s1 = rt.work(p + "s1", 2L * n);
        Region n1 = rt.work(p + "n1", (long) n * d);
        rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
            for (int row = lo; row < hi; row++) Kernels.layerNorm(x, row * d, d, eps, l.lnW, l.lnB, n1, row * d, s1, row);
        }));
        // attention
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
        l.out.forward(rt, att, n, ao, l.out.u(rt, p, n));
        // MLP on the same norm
        Region h = rt.work(p + "h", (long) n * f);
        l.fcIn.forward(rt, n1, n, h, l.fcIn.u(rt, p, n));
        Region th = rt.work(p + "th", (long) n * f);
        Region a = rt.work(p + "a", (long) n * f);
        rt.timed("activation", () -> rt.par.forRanges(n * f, (lo, hi) -> Kernels.geluNew(h, th, a, lo, hi)));
        Region mo = rt.work("mo", (long) n * d);
        l.fcOut.forward(rt, a, n, mo, l.fcOut.u(rt, p, n));
        rt.timed("residual", () -> rt.par.forRanges(n * d, (lo, hi) -> {
            for (int i = lo; i < hi; i++) out.buf.put(i, x.buf.get(i) + ao.buf.get(i) + mo.buf.get(i));
        }));
    }

    /** {@code dx} holds the gradient at the layer's output on entry and at its input on return (when needed). */
    private void layerBackward(Layer l, Region x, Region dx, String p, Passes.Batch batch, boolean keepProbs, boolean needInputGrad,
                               Map<String, INDArray> inputs, Map<String, INDArray> outGrads) {
        int n = batch.n();
        int d = cfg.hiddenSize();
        int f = cfg.intermediateSize();
        Region s1 = rt.existing(p + "s1");
        Region n1 = rt.existing(p + "n1");
        Region h = rt.existing(p + "h");
        Region th = rt.existing(p + "th");
        Region a = rt.existing(p + "a");
        Region att = rt.existing(p + "att");
        Region q = rt.existing(p + "q");
        Region k = rt.existing(p + "k");
        Region v = rt.existing(p + "v");

        // MLP: d(fc_out's output) = d(out)
        Region dh = rt.work("dh", (long) n * f);
        Passes.keep(rt, inputs, outGrads, l.fcOut, a, dx, n);
        l.fcOut.backward(rt, dx, a, l.fcOut.u(rt, p, n), n, dh, false);
        rt.timed("activation", () -> rt.par.forRanges(n * f, (lo, hi) -> Kernels.geluNewBackward(h, th, dh, lo, hi)));
        Passes.keep(rt, inputs, outGrads, l.fcIn, n1, dh, n);
        Region dn = rt.work("dn", (long) n * d);
        l.fcIn.backward(rt, dh, n1, l.fcIn.u(rt, p, n), n, needInputGrad || l.fcIn.adapted() ? dn : null, false);
        // attention: d(out_proj's output) = d(out)
        Region datt = rt.work("datt", (long) n * l.q.out);
        Passes.keep(rt, inputs, outGrads, l.out, att, dx, n);
        l.out.backward(rt, dx, att, l.out.u(rt, p, n), n, datt, false);
        Region dq = rt.work("dq", (long) n * l.q.out);
        Region dk = rt.work("dk", (long) n * l.k.out);
        Region dv = rt.work("dv", (long) n * l.v.out);
        attention.backward(rt, q, k, v, datt, dq, dk, dv, keepProbs ? rt.existing(p + "probs") : null, batch.bsz(), batch.t(), batch.lengths());
        attention.ropeBackward(rt, dq, dk, n, batch.pos(), batch.t());
        Passes.keep(rt, inputs, outGrads, l.q, n1, dq, n);
        Passes.keep(rt, inputs, outGrads, l.k, n1, dk, n);
        Passes.keep(rt, inputs, outGrads, l.v, n1, dv, n);
        Region dn1 = needInputGrad ? dn : null;
        l.q.backward(rt, dq, n1, l.q.u(rt, p, n), n, dn1, true);
        l.k.backward(rt, dk, n1, l.k.u(rt, p, n), n, dn1, true);
        l.v.backward(rt, dv, n1, l.v.u(rt, p, n), n, dn1, true);
        if (needInputGrad) {
            rt.timed("norms", () -> rt.par.forRanges(n, (lo, hi) -> {
                for (int row = lo; row < hi; row++) Kernels.layerNormBackward(x, row * d, d, s1, row, l.lnW, dn, row * d, dx, row * d, true);
            }));
        }
    }

    /**
     * Bytes of working arrays a pass of {@code batch} rows of {@code seq} tokens allocates (as
     * {@link DirectLlamaStep#plannedWorkingBytes}).
     */
    public static long plannedWorkingBytes(GptjConfig cfg, int batch, int seq, int threads, Map<String, Integer> adapted,
                                           boolean keepModuleTensors) {
        long n = (long) batch * seq;
        long d = cfg.hiddenSize();
        long qw = (long) cfg.numHeads() * cfg.headDim();
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
            if (name.startsWith("transformer.h.")) lowest = Math.min(lowest, Integer.parseInt(name.substring(14, name.indexOf('.', 14))));
            if (keepModuleTensors) {
                long in = name.endsWith("out_proj") ? qw : name.endsWith("fc_out") ? f : d;
                long out = name.endsWith("fc_in") ? f : name.endsWith("lm_head") ? cfg.vocabSize() : name.endsWith("_proj") && !name.endsWith("out_proj") ? qw : d;
                kept += n * (in + out);
            }
        }
        long perLayer = 2 * n + n * d + 4 * n * qw + 3 * n * f;   // norm statistics, n1, q k v att, h tanh a
        long stored = layersN - lowest;
        boolean keepProbs = Attention.keepsProbs(cfg.numHeads(), batch, seq, layersN);
        long probs = keepProbs ? stored * (long) batch * cfg.numHeads() * seq * seq : 0;
        long floats = (layersN + 1) * n * d
                + stored * perLayer + (lowest > 0 ? perLayer : 0)
                + loraU + probs
                + 2 * n + 6 * n * d + n * cfg.vocabSize()
                + n * f + 4 * n * qw + n * maxR
                + (long) threads * 2 * seq * seq
                + (keepProbs && lowest == 0 ? 0 : (long) threads * seq * seq)
                + 2L * seq * cfg.headDim();
        return 4 * (floats + kept);
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
