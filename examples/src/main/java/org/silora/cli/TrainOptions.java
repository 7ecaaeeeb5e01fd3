package org.silora.cli;

import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.TextDocuments;
import org.silora.lora.TrainingOptions;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** Optimiser and data options shared by the training commands; defaults from the paper. */
final class TrainOptions {

    @Option(names = "--epochs", defaultValue = "5", description = "passes over the data (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--lr", defaultValue = "8e-4", description = "Adam learning rate (default ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--batch-size", defaultValue = "20", description = "rows per batch (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--grad-accum", defaultValue = "1", description = "batches per optimizer step (default ${DEFAULT-VALUE})")
    int gradAccum;

    @Option(names = "--seq-len", defaultValue = "128", description = "tokens per training row (default ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--max-rows", defaultValue = "0", description = "use at most this many rows (0: all)")
    int maxRows;

    @Option(names = "--seed", defaultValue = "42", description = "seed of the data order and of A's init (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--engine", defaultValue = "auto", paramLabel = "ENGINE",
            description = "what computes a step: auto (the direct step for LLaMA and GPT-J in F32 on the CPU), direct, "
                    + "or samediff (SameDiff's gradient pass over the graph; equal within float rounding, about 2-4x slower)")
    String engine;

    @Option(names = "--skip-nonfinite", description = "skip steps whose loss or gradients are NaN/Inf instead of stopping")
    boolean skipNonFinite;

    @Option(names = "--checkpoint-every", defaultValue = "0", paramLabel = "N",
            description = "save the whole training state into OUT/checkpoint every N optimizer steps (0: never)")
    int checkpointEvery;

    @Option(names = "--resume", description = "continue from OUT/checkpoint (same data, options and seed as the killed run)")
    boolean resume;

    /**
     * Resumes and/or turns on checkpointing as asked; returns the info stored with the checkpoint (or {@code info}
     * for a fresh run).
     */
    java.util.Map<String, String> checkpointing(org.silora.lora.LoraTrainer trainer, Path out, java.util.function.Supplier<java.util.Map<String, String>> info) {
        Path dir = out.resolve("checkpoint");
        java.util.Map<String, String> i = resume ? trainer.resume(dir) : info.get();
        if (checkpointEvery > 0) trainer.checkpointEvery(dir, checkpointEvery, i);
        return i;
    }

    /** After the outputs are written: the checkpoint has served its purpose. */
    static void dropCheckpoint(Path out) throws java.io.IOException {
        Path dir = out.resolve("checkpoint");
        java.nio.file.Files.deleteIfExists(dir.resolve("trainer-state.safetensors"));
        if (java.nio.file.Files.isDirectory(dir)) {
            try (var s = java.nio.file.Files.list(dir)) {
                if (s.findAny().isEmpty()) java.nio.file.Files.delete(dir);
            }
        }
    }

    /** Tokens of the longest row's inputs (a row of n tokens makes n − 1 predictions): the planned sequence length. */
    int longestRow(List<int[]> rows) {
        int t = 1;
        for (int[] r : rows) t = Math.max(t, r.length - 1);
        return t;
    }

    TrainingOptions options() {
        return TrainingOptions.builder().epochs(epochs).learningRate(lr).batchSize(batchSize)
                .gradientAccumulation(gradAccum).seed(seed).skipNonFinite(skipNonFinite).engine(engine()).build();
    }

    /**
     * Refuses an {@code --out} that exists and is not a folder, before any work (a command that found out only when
     * writing its outputs would have worked for nothing): the training commands, pretrain and the demo.
     */
    static void checkOutFolder(Path out) {
        if (java.nio.file.Files.exists(out) && !java.nio.file.Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " exists and is not a folder");
        }
    }

    /** The {@code --engine} value, refused with one line when it names no engine. */
    TrainingOptions.Engine engine() {
        return switch (engine.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> TrainingOptions.Engine.AUTO;
            case "direct" -> TrainingOptions.Engine.DIRECT;
            case "samediff" -> TrainingOptions.Engine.SAMEDIFF;
            default -> throw new IllegalArgumentException("--engine must be auto, direct or samediff, not '" + engine + "'");
        };
    }

    /**
     * Token rows of the data file (any form {@link TextDocuments} reads, the Pile's {@code .jsonl.zst} too), tokenized
     * with the model's tokenizer; with {@code --max-rows} only as much of the file is read as those rows need.
     */
    List<int[]> rows(Path model, Path data) {
        List<int[]> rows;
        try (HfTokenizer tok = HfTokenizer.load(model); java.util.stream.Stream<String> docs = TextDocuments.documents(data)) {
            rows = TextDocuments.windows(docs.iterator(), tok, seqLen, maxRows);
        }
        if (rows.isEmpty()) throw new IllegalArgumentException(data + ": too little text for one training row");
        return rows;
    }
}
