package org.silora.eval;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.ReferenceForward;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batched scorer and perplexity against a brute-force double-precision reference on a tiny random model. */
class ScoringTest {

    @TempDir
    static Path tmp;

    static HfTokenizer tok;
    static CausalLm lm;
    static ReferenceForward ref;

    static final String CORPUS = """
            Question: Where do fish live?
            Answer: In the water, in rivers and in the sea.
            The sun is a star. Plants need light and water to grow. Ice melts when it is warm.
            Question: What do bees make? Answer: honey. Choices: A. B. C. D.
            """.repeat(4);

    @BeforeAll
    static void model() throws Exception {
        Path dir = tmp.resolve("m");
        BpeTrainer.train(List.of(CORPUS), BpeTrainer.Options.llama(300), dir);
        tok = HfTokenizer.load(dir);
        LlamaConfig cfg = new LlamaConfig(tok.vocabSize(), 32, 64, 2, 4, 2, 8, 1e-5, 10000, null, 64, false, false, false);
        Map<String, INDArray> w = TinyModels.randomWeights(cfg, 11);
        TinyModels.write(dir, cfg, w, DType.F32, 1);
        lm = CausalLm.load(dir);
        ref = new ReferenceForward(cfg, w);
    }

    static List<MultipleChoiceItem> items() {
        return List.of(
                new MultipleChoiceItem("Question: Where do fish live?\nAnswer:", List.of("In the sea.", "On trees.", "In the sun, mostly."), 0),
                new MultipleChoiceItem("Plants need light and water to grow.\nQuestion: What melts?\nAnswer:", List.of("ice", "stone", "wood", "Ice melts when it is warm."), 3),
                new MultipleChoiceItem("Question: What do bees make?\nChoices:\nA. honey\nB. milk\nC. oil\nD. rain\nAnswer:", List.of("A", "B", "C", "D"), 0),
                new MultipleChoiceItem("Question: trailing space \nAnswer: ", List.of("water", "élan vital"), 1),
                new MultipleChoiceItem("Question: a very long question that may be cut on the left because the model is short, "
                        + "plants need light and water to grow and the sun is a star\nAnswer:", List.of("yes", "no"), 1));
    }

    /** The harness's _encode_pair, written out independently, without special tokens. */
    static int[][] harnessPair(String context, String continuation) {
        String stripped = context.replaceAll("\\s+$", "");
        int n = context.length() - stripped.length();
        if (n > 0) {
            continuation = context.substring(stripped.length()) + continuation;
            context = stripped;
        }
        int[] whole = tok.encode(context + continuation, false);
        int[] ctx = tok.encode(context, false);
        return new int[][]{ctx, Arrays.copyOfRange(whole, ctx.length, whole.length)};
    }

    /** One unbatched double-precision forward; sum of log-softmax at the continuation tokens. */
    static double bruteForce(String context, String choice, int maxLength) {
        int[][] p = harnessPair(context, " " + choice);
        int[] seq = new int[p[0].length + p[1].length];
        System.arraycopy(p[0], 0, seq, 0, p[0].length);
        System.arraycopy(p[1], 0, seq, p[0].length, p[1].length);
        if (seq.length > maxLength + 1) seq = Arrays.copyOfRange(seq, seq.length - maxLength - 1, seq.length);
        int[] input = Arrays.copyOf(seq, seq.length - 1);
        double[][] logits = ref.logits(input);
        double sum = 0;
        for (int k = 0; k < p[1].length; k++) {
            int pos = input.length - p[1].length + k;
            double[] row = logits[pos];
            double max = Double.NEGATIVE_INFINITY;
            for (double v : row) max = Math.max(max, v);
            double z = 0;
            for (double v : row) z += Math.exp(v - max);
            sum += row[seq[pos + 1]] - max - Math.log(z);
        }
        return sum;
    }

    @Test
    void tokenizationSplitsAsTheHarness() {
        MultipleChoiceScorer s = new MultipleChoiceScorer(lm, tok, MultipleChoiceScorer.Options.defaults());
        for (MultipleChoiceItem it : items()) {
            for (String c : it.choices()) {
                MultipleChoiceScorer.Pair p = s.encodePair(it.context(), " " + c);
                int[][] h = harnessPair(it.context(), " " + c);
                assertArrayEquals(h[0], p.context(), it.context());
                assertArrayEquals(h[1], p.continuation(), c);
            }
        }
        // trailing whitespace of the context is moved onto the continuation
        MultipleChoiceScorer.Pair p = s.encodePair("Answer: ", " water");
        assertArrayEquals(tok.encode("Answer:", false), p.context());
        int[] whole = tok.encode("Answer:  water", false);
        assertArrayEquals(Arrays.copyOfRange(whole, p.context().length, whole.length), p.continuation());
        // no BOS by default (the harness's add_bos_token=False); with addBos both encodings start with it
        assertTrue(tok.bosId().isPresent());
        assertTrue(p.context()[0] != tok.bosId().getAsInt());
        MultipleChoiceScorer bos = new MultipleChoiceScorer(lm, tok, new MultipleChoiceScorer.Options(4, true, 0));
        MultipleChoiceScorer.Pair q = bos.encodePair("Answer:", " water");
        assertEquals(tok.bosId().getAsInt(), q.context()[0]);
        assertEquals(p.context().length + 1, q.context().length);
    }

    @Test
    void batchedScoresMatchTheBruteForceReference() {
        List<MultipleChoiceItem> items = items();
        int maxPos = lm.config().maxPositionEmbeddings();
        double[][] expected = new double[items.size()][];
        int correct = 0;
        int correctNorm = 0;
        for (int i = 0; i < items.size(); i++) {
            MultipleChoiceItem it = items.get(i);
            expected[i] = new double[it.choices().size()];
            int best = 0;
            int bestNorm = 0;
            for (int j = 0; j < it.choices().size(); j++) {
                expected[i][j] = bruteForce(it.context(), it.choices().get(j), maxPos);
                String c = it.choices().get(j);
                if (expected[i][j] > expected[i][best]) best = j;
                if (expected[i][j] / c.codePointCount(0, c.length())
                        > expected[i][bestNorm] / it.choices().get(bestNorm).codePointCount(0, it.choices().get(bestNorm).length())) bestNorm = j;
            }
            if (best == it.label()) correct++;
            if (bestNorm == it.label()) correctNorm++;
        }
        for (int bs : new int[]{1, 3, 16}) {
            MultipleChoiceScorer.Result r = new MultipleChoiceScorer(lm, tok, new MultipleChoiceScorer.Options(bs, false, 0))
                    .score(items, MultipleChoiceScorer.Progress.NONE);
            assertEquals(items.size(), r.n());
            for (int i = 0; i < items.size(); i++) {
                for (int j = 0; j < expected[i].length; j++) {
                    assertEquals(expected[i][j], r.logLik()[i][j], 2e-3 + 1e-4 * Math.abs(expected[i][j]), "batch " + bs + " item " + i + " choice " + j);
                }
            }
            assertEquals((double) correct / items.size(), r.acc(), 1e-12);
            assertEquals((double) correctNorm / items.size(), r.accNorm(), 1e-12);
        }
        // left truncation to the model's length, as the harness: the long item exceeds 64 positions
        assertTrue(harnessPair(items.get(4).context(), " yes")[0].length > maxPos);
    }

    @Test
    void argmaxIsNumpys() {
        assertEquals(0, MultipleChoiceScorer.argmax(new double[]{-1, -1, -2}));
        assertEquals(2, MultipleChoiceScorer.argmax(new double[]{-3, -2, -1}));
    }

    @Test
    void perplexityMatchesTheReference() {
        List<String> docs = List.of("The sun is a star. Plants need light and water to grow.", "Ice melts when it is warm. Question: Where do fish live?");
        int[] ids = Perplexity.tokens(docs, tok);
        for (int[] ws : new int[][]{{8, 8}, {8, 3}, {64, 64}}) {
            int window = ws[0];
            int stride = ws[1];
            // reference: every target t >= 1 once, predicted within the window that first reaches it
            double nll = 0;
            int count = 0;
            int done = 1;
            for (int begin = 0; done < ids.length; begin += stride) {
                int end = Math.min(ids.length, begin + window + 1);
                int[] input = Arrays.copyOfRange(ids, begin, end - 1);
                double[][] logits = ref.logits(input);
                for (int k = 0; k < input.length; k++) {
                    int target = begin + k + 1;
                    if (target < done) continue;
                    double[] row = logits[k];
                    double max = Arrays.stream(row).max().orElseThrow();
                    double z = 0;
                    for (double v : row) z += Math.exp(v - max);
                    nll -= row[ids[target]] - max - Math.log(z);
                    count++;
                }
                done = end;
            }
            Perplexity.Result r = Perplexity.evaluate(lm, ids, window, stride, 3);
            assertEquals(ids.length - 1, r.tokens());
            assertEquals(count, r.tokens());
            assertEquals(Math.exp(nll / count), r.ppl(), 1e-3 * r.ppl(), "window " + window + " stride " + stride);
        }
    }
}
