package org.silora.eval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.model.CausalLm;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.lora.CausalLmLoss;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Perplexity {@code exp(Σ NLL / tokens)} over held-out text, token-weighted. The documents are tokenized with the
 * model's BOS rule and joined with EOS after each (as the training rows of {@code TextDocuments.windows}), then
 * read by a sliding window: each forward sees at most {@code window} tokens and starts {@code stride} tokens after
 * the previous one; only the tokens not scored by an earlier window count, each predicted from all the context
 * its window holds. Every token but the first is scored exactly once. {@code stride == window} (the default) gives
 * disjoint windows, the same rows and loss as {@code LoraTrainer.meanLoss} with sequence length {@code window}.
 */
public final class Perplexity {

    /**
     * @param ppl     exp of the mean NLL
     * @param meanNll mean NLL per scored token (nats)
     * @param tokens  tokens scored
     * @param window  tokens per forward
     * @param stride  tokens between window starts
     * @param seconds wall time
     */
    public record Result(double ppl, double meanNll, long tokens, int window, int stride, double seconds) {
    }

    private Perplexity() {
    }

    /** The token stream: each document with the model's BOS rule, EOS after each when the tokenizer has one. */
    public static int[] tokens(List<String> docs, HfTokenizer tok) {
        OptionalInt eos = tok.eosId();
        int[] all = new int[1024];
        int n = 0;
        for (String d : docs) {
            int[] ids = tok.encode(d);
            int need = n + ids.length + 1;
            if (need > all.length) all = Arrays.copyOf(all, Math.max(all.length * 2, need));
            System.arraycopy(ids, 0, all, n, ids.length);
            n += ids.length;
            if (eos.isPresent()) all[n++] = eos.getAsInt();
        }
        return Arrays.copyOf(all, n);
    }

    public static Result evaluate(CausalLm lm, HfTokenizer tok, List<String> docs, int window, int stride, int batchSize) {
        return evaluate(lm, tokens(docs, tok), window, stride, batchSize);
    }

    /** Perplexity of a token stream. */
    public static Result evaluate(CausalLm lm, int[] ids, int window, int stride, int batchSize) {
        return evaluate(lm, ids, window, stride, batchSize, MultipleChoiceScorer.Progress.NONE);
    }

    /** Perplexity of a token stream; {@code progress} hears of each batch of windows (windows done, windows in all). */
    public static Result evaluate(CausalLm lm, int[] ids, int window, int stride, int batchSize, MultipleChoiceScorer.Progress progress) {
        if (window < 1) throw new IllegalArgumentException("window must be >= 1, got " + window);
        if (window > lm.config().maxPositionEmbeddings()) {
            throw new IllegalArgumentException("window " + window + " is longer than the model's " + lm.config().maxPositionEmbeddings() + " positions");
        }
        if (stride < 1 || stride > window) throw new IllegalArgumentException("stride must be in [1, window], got " + stride);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1");
        if (ids.length < 2) throw new IllegalArgumentException("the text has fewer than 2 tokens");
        long t0 = System.nanoTime();
        record Row(int begin, int end, int firstCounted) {
        }
        List<Row> rows = new ArrayList<>();
        int scoredUpTo = 1;   // targets [1, scoredUpTo) are done
        for (int begin = 0; scoredUpTo < ids.length; begin += stride) {
            int end = Math.min(ids.length, begin + window + 1);   // row tokens [begin, end): end-begin-1 predictions
            rows.add(new Row(begin, end, scoredUpTo));
            scoredUpTo = end;
        }
        CausalLmLoss.addTo(lm);
        double nll = 0;
        double count = 0;
        for (int i = 0; i < rows.size(); i += batchSize) {
            List<Row> batch = rows.subList(i, Math.min(rows.size(), i + batchSize));
            int b = batch.size();
            int t = 0;
            for (Row r : batch) t = Math.max(t, r.end() - r.begin() - 1);
            int[][] in = new int[b][t];
            int[][] mask = new int[b][t];
            int[][] labels = new int[b][t];
            float[] w = new float[b * t];
            boolean padded = false;
            for (int r = 0; r < b; r++) {
                Row row = batch.get(r);
                int len = row.end() - row.begin() - 1;
                for (int k = 0; k < t; k++) {
                    if (k < len) {
                        in[r][k] = ids[row.begin() + k];
                        labels[r][k] = ids[row.begin() + k + 1];
                        mask[r][k] = 1;
                        if (row.begin() + k + 1 >= row.firstCounted()) w[r * t + k] = 1f;
                    } else {
                        padded = true;
                    }
                }
            }
            Map<String, INDArray> ph = lm.placeholders(in, padded ? mask : null);
            ph.put(CausalLmLoss.LABELS, Nd4j.createFromArray(labels).castTo(DataType.INT));
            ph.put(CausalLmLoss.LABEL_WEIGHTS, Nd4j.create(w, new long[]{b, t}, 'c'));
            String logits = lm.graph().flatLogits().name();
            double[] s = lm.output(ph, out -> CausalLmLoss.nllSum(out.get(logits), ph.get(CausalLmLoss.LABELS),
                    ph.get(CausalLmLoss.LABEL_WEIGHTS)), logits);
            nll += s[0];
            count += s[1];
            progress.onBatch(i + b, rows.size());
        }
        lm.releaseInferenceMemory();   // this evaluation's working arrays
        double mean = nll / count;
        return new Result(Math.exp(mean), mean, Math.round(count), window, stride, (System.nanoTime() - t0) / 1e9);
    }
}
