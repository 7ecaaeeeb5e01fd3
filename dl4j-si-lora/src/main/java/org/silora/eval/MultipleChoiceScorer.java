package org.silora.eval;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.model.CausalLm;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.lora.CausalLmLoss;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Multiple-choice scoring as lm-evaluation-harness's {@code loglikelihood} for Hugging Face causal LMs:
 * <ol>
 * <li>each choice is the request {@code (context, " " + choice)};</li>
 * <li>the pair is tokenized as the harness's {@code _encode_pair}: trailing whitespace of the context moves to the
 *     front of the continuation; {@code whole = encode(context + continuation)}, {@code ctx = encode(context)},
 *     continuation tokens = {@code whole[len(ctx):]};</li>
 * <li>{@code encode} adds no special tokens (the harness's default {@code add_bos_token=False} for causal LMs),
 *     unless {@link Options#addBos()} is set, when BOS is put in front of both encodings;</li>
 * <li>the log-likelihood is the sum of {@code log_softmax} at the continuation tokens of one forward over
 *     {@code (ctx + cont)[-(maxLength+1):][:-1]};</li>
 * <li>{@code acc} = the first argmax of the sums is the label; {@code acc_norm} = the same for the sums divided by
 *     the choice's length in characters (Unicode code points, as Python's {@code len}, without the leading space).</li>
 * </ol>
 * Requests are sorted by length and run in batches of {@link Options#batchSize()} rows, right-padded with an
 * attention mask; the log-likelihoods come from the logits by a max-shifted log-sum-exp
 * ({@link CausalLmLoss#nll}), stable where M2.1's loss ops overflow.
 */
public final class MultipleChoiceScorer {

    static final String LABELS = "mc_labels";
    static final String WEIGHTS = "mc_weights";

    /**
     * @param batchSize rows per forward
     * @param addBos    put BOS before context and whole (the harness's {@code add_bos_token=True})
     * @param maxLength longest input of one forward (left-truncated beyond), 0: the model's max positions
     */
    public record Options(int batchSize, boolean addBos, int maxLength) {
        public Options {
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            if (maxLength < 0) throw new IllegalArgumentException("max length must be >= 0");
        }

        public static Options defaults() {
            return new Options(8, false, 0);
        }
    }

    /** Context and continuation token ids of one request. */
    public record Pair(int[] context, int[] continuation) {
    }

    /**
     * @param acc        fraction correct by the raw sums
     * @param accNorm    fraction correct by the sums per character
     * @param n          items scored
     * @param logLik     per item, per choice, the summed log-probability
     * @param tokens     tokens run through the model (padding excluded)
     * @param seconds    wall time of the scoring
     */
    public record Result(double acc, double accNorm, int n, double[][] logLik, long tokens, double seconds) {
        public double itemsPerSecond() {
            return n / Math.max(seconds, 1e-9);
        }
    }

    /** Called after each batch. */
    @FunctionalInterface
    public interface Progress {
        void onBatch(int requestsDone, int requestsTotal);

        Progress NONE = (d, t) -> { };
    }

    private final CausalLm lm;
    private final HfTokenizer tokenizer;
    private final Options options;
    private final int maxLength;

    public MultipleChoiceScorer(CausalLm lm, HfTokenizer tokenizer, Options options) {
        this.lm = lm;
        this.tokenizer = tokenizer;
        this.options = options;
        this.maxLength = options.maxLength() > 0 ? options.maxLength() : lm.config().maxPositionEmbeddings();
        if (options.addBos() && tokenizer.bosId().isEmpty()) throw new IllegalArgumentException("--add-bos: the tokenizer has no BOS token");
    }

    /** The harness's {@code _encode_pair}. */
    public Pair encodePair(String context, String continuation) {
        int nSpaces = 0;
        while (nSpaces < context.length() && Loaders.isPySpace(context.charAt(context.length() - 1 - nSpaces))) nSpaces++;
        if (nSpaces > 0) {
            continuation = context.substring(context.length() - nSpaces) + continuation;
            context = context.substring(0, context.length() - nSpaces);
        }
        int[] whole = encode(context + continuation);
        int[] ctx = encode(context);
        int[] cont = ctx.length <= whole.length ? Arrays.copyOfRange(whole, ctx.length, whole.length) : new int[0];
        if (ctx.length == 0) {
            // the harness's empty-context case: the prefix token (BOS, else EOS) is the context
            int prefix = tokenizer.bosId().orElse(tokenizer.eosId().orElseThrow(
                    () -> new IllegalArgumentException("empty context and a tokenizer without BOS/EOS")));
            ctx = new int[]{prefix};
        }
        return new Pair(ctx, cont);
    }

    private int[] encode(String s) {
        int[] ids = tokenizer.encode(s, false);
        if (!options.addBos()) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = tokenizer.bosId().getAsInt();
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** Scores every item. */
    public Result score(List<MultipleChoiceItem> items, Progress progress) {
        long t0 = System.nanoTime();
        record Req(int item, int choice, int[] input, int[] labels, int from) {
        }
        List<Req> reqs = new ArrayList<>();
        double[][] ll = new double[items.size()][];
        for (int i = 0; i < items.size(); i++) {
            MultipleChoiceItem it = items.get(i);
            ll[i] = new double[it.choices().size()];
            for (int j = 0; j < it.choices().size(); j++) {
                Pair p = encodePair(it.context(), " " + it.choices().get(j));
                if (p.continuation().length == 0) continue;   // nothing to score: log-likelihood 0
                int[] seq = new int[p.context().length + p.continuation().length];
                System.arraycopy(p.context(), 0, seq, 0, p.context().length);
                System.arraycopy(p.continuation(), 0, seq, p.context().length, p.continuation().length);
                if (seq.length > maxLength + 1) seq = Arrays.copyOfRange(seq, seq.length - maxLength - 1, seq.length);
                int[] input = Arrays.copyOf(seq, seq.length - 1);
                int[] labels = Arrays.copyOfRange(seq, 1, seq.length);
                int from = Math.max(0, input.length - p.continuation().length);
                reqs.add(new Req(i, j, input, labels, from));
            }
        }
        reqs.sort(Comparator.comparingInt((Req r) -> -r.input().length));
        SameDiff sd = lm.sameDiff();
        long tokens = 0;
        for (int start = 0; start < reqs.size(); start += options.batchSize()) {
            List<Req> batch = reqs.subList(start, Math.min(reqs.size(), start + options.batchSize()));
            int b = batch.size();
            List<int[]> inputs = new ArrayList<>();
            List<int[]> labels = new ArrayList<>();
            List<float[]> weights = new ArrayList<>();
            for (Req q : batch) {
                tokens += q.input().length;
                inputs.add(q.input());
                labels.add(q.labels());
                float[] w = new float[q.input().length];
                Arrays.fill(w, q.from(), w.length, 1f);   // only the continuation's tokens count
                weights.add(w);
            }
            Map<String, INDArray> ph = CausalLmLoss.placeholders(lm, inputs, labels, weights, LABELS, WEIGHTS);
            String logits = lm.graph().flatLogits().name();
            int[] lab = ph.remove(LABELS).reshape(-1).toIntVector();   // read here, not by the graph
            INDArray weightArr = ph.remove(WEIGHTS);
            double[] nll = lm.output(ph, out -> CausalLmLoss.nll(out.get(logits), lab), logits);
            float[] w = weightArr.reshape(-1).toFloatVector();
            int t = (int) weightArr.size(1);
            for (int r = 0; r < b; r++) {
                double rowLl = 0;
                for (int j = 0; j < t; j++) rowLl -= w[r * t + j] == 0 ? 0 : w[r * t + j] * nll[r * t + j];
                ll[batch.get(r).item()][batch.get(r).choice()] = rowLl;
            }
            progress.onBatch(start + b, reqs.size());
        }
        lm.releaseInferenceMemory();   // this evaluation's working arrays
        int correct = 0;
        int correctNorm = 0;
        for (int i = 0; i < items.size(); i++) {
            MultipleChoiceItem it = items.get(i);
            double[] norm = new double[ll[i].length];
            for (int j = 0; j < norm.length; j++) {
                String c = it.choices().get(j);
                norm[j] = ll[i][j] / c.codePointCount(0, c.length());
            }
            if (argmax(ll[i]) == it.label()) correct++;
            if (argmax(norm) == it.label()) correctNorm++;
        }
        int n = items.size();
        return new Result(n == 0 ? 0 : (double) correct / n, n == 0 ? 0 : (double) correctNorm / n, n, ll, tokens,
                (System.nanoTime() - t0) / 1e9);
    }

    /** numpy's argmax: the first index of the largest value (NaN wins, as in numpy). */
    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (Double.isNaN(v[best])) return best;
            if (Double.isNaN(v[i]) || v[i] > v[best]) best = i;
        }
        return best;
    }
}
