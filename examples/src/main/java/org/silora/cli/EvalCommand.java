package org.silora.cli;

import org.silora.console.ProgressBar;
import org.silora.io.TextDocuments;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.eval.Loaders;
import org.silora.eval.McDataset;
import org.silora.eval.MedMcqa;
import org.silora.eval.MultipleChoiceScorer;
import org.silora.eval.Perplexity;
import org.silora.eval.Piqa;
import org.silora.eval.SciQ;
import org.nd4j.linalg.api.buffer.DataType;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.model.CausalLm;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.PeftAdapters;
import org.silora.memory.MemoryPlanner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code silora eval}: multiple-choice accuracy as lm-evaluation-harness, or perplexity (SPEC §5). */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Multiple-choice accuracy (sciq, piqa, medmcqa; scored as lm-evaluation-harness) or perplexity (ppl) of a model, optionally with an adapter.")
final class EvalCommand implements Callable<Integer> {

    @Mixin
    ModelOption modelOption;

    @Option(names = "--adapter", paramLabel = "DIR", description = "peft LoRA adapter to apply")
    Path adapter;

    @Option(names = "--task", required = true, description = "sciq, piqa, medmcqa or ppl")
    String task;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "the task's file as published (PIQA: X.jsonl with X-labels.lst beside it); ppl: .jsonl.zst, .jsonl or plain text")
    Path data;

    @Option(names = "--limit", defaultValue = "0", description = "first N items (ppl: documents); 0: all")
    int limit;

    @Option(names = "--batch-size", defaultValue = "8", description = "sequences per forward (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--add-bos", description = "put BOS before context and continuation (the harness's add_bos_token=True); default: no special tokens, as the harness")
    boolean addBos;

    @Option(names = "--cop-base", defaultValue = "auto", description = "medmcqa: cop numbering auto, 0 or 1 (default ${DEFAULT-VALUE})")
    String copBase;

    @Option(names = "--skip-malformed", description = "skip and count malformed records instead of failing on the first")
    boolean skipMalformed;

    @Option(names = "--window", defaultValue = "0", description = "ppl: tokens per forward (0: min(1024, the model's positions))")
    int window;

    @Option(names = "--stride", defaultValue = "0", description = "ppl: tokens between window starts (0: = window, disjoint windows)")
    int stride;

    @Mixin
    MemoryOptions memory;

    /** Tokens of the longest request (context + " " + choice), as the scorer will cut it. */
    private int longestRequest(HfTokenizer tok, List<org.silora.eval.MultipleChoiceItem> items, int maxPositions) {
        int longest = 1;
        for (org.silora.eval.MultipleChoiceItem it : items) {
            for (String c : it.choices()) longest = Math.max(longest, tok.encode(it.context() + " " + c, false).length + (addBos ? 1 : 0));
        }
        return Math.min(longest, maxPositions);
    }

    @Override
    public Integer call() throws Exception {
        String t = task.toLowerCase(Locale.ROOT);
        if (!List.of("sciq", "piqa", "medmcqa", "ppl").contains(t)) {
            throw new IllegalArgumentException("--task must be sciq, piqa, medmcqa or ppl, got " + task);
        }
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be >= 1");
        Path model = modelOption.folder();
        if (limit < 0) throw new IllegalArgumentException("--limit must be >= 0");
        McDataset ds = null;
        List<String> docs = null;
        if (t.equals("ppl")) {
            docs = TextDocuments.read(data, limit);
        } else {
            ds = switch (t) {
                case "sciq" -> SciQ.load(data, skipMalformed);
                case "piqa" -> Piqa.load(data, Piqa.labelsFile(data), skipMalformed);
                default -> MedMcqa.load(data, switch (copBase.toLowerCase(Locale.ROOT)) {
                    case "auto" -> MedMcqa.CopBase.AUTO;
                    case "0" -> MedMcqa.CopBase.ZERO;
                    case "1" -> MedMcqa.CopBase.ONE;
                    default -> throw new IllegalArgumentException("--cop-base must be auto, 0 or 1, got " + copBase);
                }, skipMalformed);
            };
            ds = ds.limit(limit);
            if (!ds.note().isEmpty()) System.err.println("eval " + t + ": " + ds.note());
        }
        ModelConfig cfg = modelOption.config();
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("task", t);
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            int planned = t.equals("ppl") ? (window > 0 ? window : Math.min(1024, cfg.maxPositionEmbeddings()))
                    : longestRequest(tok, ds.items(), cfg.maxPositionEmbeddings());
            int rows = t.equals("ppl") ? batchSize : Math.min(batchSize, Math.max(1, ds.items().stream().mapToInt(i -> i.choices().size()).sum()));
            DataType storage = memory.inference("eval", model,
                    st -> MemoryPlanner.inference(cfg, st, rows, planned, "eval", memory.budget()));
            long load0 = System.nanoTime();
            CausalLm lm = adapter != null ? PeftAdapters.load(model, adapter, storage).lm()
                    : CausalLm.load(model, LinearFactory.BASE, storage);
            o.put("load_seconds", (System.nanoTime() - load0) / 1e9);
            memory.report();
            if (t.equals("ppl")) {
                int w = window > 0 ? window : Math.min(1024, lm.config().maxPositionEmbeddings());
                int s = stride > 0 ? stride : w;
                Perplexity.Result r;
                try (ProgressBar bar = new ProgressBar("eval ppl", 0)) {
                    r = Perplexity.evaluate(lm, Perplexity.tokens(docs, tok), w, s, batchSize,
                            (done, total) -> bar.update(done, total, "windows"));
                }
                o.put("ppl", r.ppl());
                o.put("tokens", r.tokens());
                o.put("window", r.window());
                o.put("stride", r.stride());
                o.put("mean_nll", r.meanNll());
                o.put("documents", docs.size());
                o.put("seconds", r.seconds());
            } else {
                MultipleChoiceScorer scorer = new MultipleChoiceScorer(lm, tok, new MultipleChoiceScorer.Options(batchSize, addBos, 0));
                MultipleChoiceScorer.Result r;
                try (ProgressBar bar = new ProgressBar("eval " + t, 0)) {
                    r = scorer.score(ds.items(), (done, total) -> bar.update(done, total, "requests"));
                }
                o.put("acc", r.acc());
                o.put("acc_norm", r.accNorm());
                o.put("n", r.n());
                if (ds.skipped() > 0) o.put("skipped", ds.skipped());
                o.put("seconds", r.seconds());
                o.put("items_per_s", r.itemsPerSecond());
            }
        }
        if (adapter != null) o.put("adapter", adapter.toString());
        SiloraMain.json().println(om.writeValueAsString(o));
        return 0;
    }
}
