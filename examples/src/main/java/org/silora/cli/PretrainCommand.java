package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.console.ProgressBar;
import org.silora.demo.Pretraining;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.model.CausalLm;
import org.silora.hf.safetensors.DType;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.TextDocuments;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingResult;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code silora pretrain}: trains a byte-level BPE tokenizer and a small LLaMA or GPT-J model from scratch on
 * general text and writes a Hugging Face checkpoint (how the shipped tiny models were made).
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Train a BPE tokenizer and a small LLaMA/GPT-J model from scratch on general text; writes a Hugging Face checkpoint.",
        defaultValueProvider = PretrainCommand.Defaults.class)
final class PretrainCommand implements Callable<Integer> {

    @Option(names = "--arch", required = true, description = "llama or gptj")
    String arch;

    @Mixin
    TextDataOption dataOption;

    @Option(names = "--heldout", required = true, paramLabel = "FILE", description = "held-out text for perplexity")
    Path heldout;

    @Mixin
    OutFolder outOption;

    @Option(names = "--vocab", defaultValue = "4096") int vocab;
    @Option(names = "--hidden", defaultValue = "192") int hidden;
    @Option(names = "--layers", defaultValue = "4") int layers;
    @Option(names = "--heads", defaultValue = "6") int heads;
    @Option(names = "--kv-heads", defaultValue = "2", description = "LLaMA only (GQA)") int kvHeads;
    @Option(names = "--intermediate", defaultValue = "512") int intermediate;
    @Option(names = "--rotary-dim", defaultValue = "16", description = "GPT-J only") int rotaryDim;
    @Option(names = "--dtype", defaultValue = "BF16") DType dtype;

    @Mixin
    TrainOptions train;

    /** Pretraining's own defaults for the shared training options: one epoch, a higher learning rate, 16 rows. */
    static final class Defaults implements CommandLine.IDefaultValueProvider {
        @Override
        public String defaultValue(CommandLine.Model.ArgSpec arg) {
            if (!(arg instanceof CommandLine.Model.OptionSpec o)) return null;
            return switch (o.longestName()) {
                case "--epochs" -> "1";
                case "--lr" -> "2e-3";
                case "--batch-size" -> "16";
                default -> null;
            };
        }
    }

    @Override
    public Integer call() throws Exception {
        Path out = outOption.checked();
        Path data = dataOption.file;
        boolean llama = switch (arch.toLowerCase(Locale.ROOT)) {
            case "llama" -> true;
            case "gptj" -> false;
            default -> throw new IllegalArgumentException("--arch must be llama or gptj, got " + arch);
        };
        List<String> docs = TextDocuments.read(data);
        List<String> held = TextDocuments.read(heldout);
        Files.createDirectories(out);
        long t0 = System.nanoTime();
        BpeTrainer.train(docs, llama ? BpeTrainer.Options.llama(vocab) : BpeTrainer.Options.gptj(vocab), out);
        List<int[]> rows;
        List<int[]> heldRows;
        int vocabSize;
        Map<String, Integer> ids = new LinkedHashMap<>();
        try (HfTokenizer tok = HfTokenizer.load(out)) {
            vocabSize = tok.vocabSize();
            rows = TextDocuments.windows(docs, tok, train.seqLen);
            heldRows = TextDocuments.windows(held, tok, train.seqLen);
            tok.bosId().ifPresent(i -> ids.put("bos_token_id", i));
            tok.eosId().ifPresent(i -> ids.put("eos_token_id", i));
        }
        if (train.maxRows > 0 && rows.size() > train.maxRows) rows = rows.subList(0, train.maxRows);
        ModelConfig cfg = llama
                ? new LlamaConfig(vocabSize, hidden, intermediate, layers, heads, kvHeads, hidden / heads, 1e-5, 10000.0,
                null, Math.max(2048, train.seqLen), true, false, false)
                : new GptjConfig(vocabSize, hidden, intermediate, layers, heads, rotaryDim, 1e-5, Math.max(2048, train.seqLen), false);
        Map<String, INDArray> init = Pretraining.initialWeights(cfg, train.seed);
        CausalLm lm = Pretraining.trainableModel(cfg, init);
        double unigram = Pretraining.unigramPerplexity(rows, heldRows, vocabSize);
        System.err.printf(Locale.ROOT, "pretrain %s: %d rows of %d tokens, %d parameters, held-out unigram PPL %.1f%n",
                arch, rows.size(), train.seqLen, Pretraining.variables(lm).stream()
                        .mapToLong(n -> lm.sameDiff().getArrForVarName(n).length()).sum(), unigram);
        LoraTrainer trainer = LoraTrainer.forVariables(lm, Pretraining.variables(lm), train.builder().build());
        train.checkpointing(trainer, out, () -> Map.of("command", "pretrain"));
        TrainingResult r;
        try (ProgressBar bar = new ProgressBar("pretrain", 0)) {
            r = trainer.train(rows, (s, total, loss) -> bar.update(s, total, String.format(Locale.ROOT, "loss %.3f", loss)));
        }
        double heldPpl = Math.exp(LoraTrainer.meanLoss(lm, heldRows, train.batchSize));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("silora.pretrained_on", data.getFileName() + " (" + rows.size() + " rows x " + (train.seqLen + 1) + " tokens, " + train.epochs + " epochs)");
        meta.put("silora.heldout_ppl", String.format(Locale.ROOT, "%.2f", heldPpl));
        meta.put("silora.unigram_ppl", String.format(Locale.ROOT, "%.2f", unigram));
        meta.put("silora.seed", Long.toString(train.seed));
        Pretraining.save(lm, cfg, out, dtype, meta, ids);
        TrainOptions.dropCheckpoint(out);

        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("arch", arch);
        o.put("vocab", vocabSize);
        o.put("steps", r.steps());
        o.put("tokens", r.tokens());
        o.put("seconds", (System.nanoTime() - t0) / 1e9);
        o.put("train_loss_last", r.lastLoss());
        o.put("heldout_ppl", heldPpl);
        o.put("unigram_ppl", unigram);
        o.put("bytes", Files.size(out.resolve("model.safetensors")));
        o.put("out", out.toString());
        SiloraMain.json().println(om.writeValueAsString(o));
        return 0;
    }
}
