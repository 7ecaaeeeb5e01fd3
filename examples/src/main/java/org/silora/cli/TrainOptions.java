package org.silora.cli;

import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.TextDocuments;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TrainingOptions;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Options of every command that trains on text rows (train-general, train-domain, pretrain): epochs, learning rate,
 * batch, rows, seed and checkpoints; defaults from the paper (pretrain brings its own through its default provider).
 */
final class TrainOptions {

    @Option(names = "--epochs", defaultValue = "5", description = "passes over the data (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--lr", defaultValue = "8e-4", description = "Adam learning rate (default ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--batch-size", defaultValue = "20", description = "rows per batch (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--seq-len", defaultValue = "128", description = "tokens per training row (default ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--max-rows", defaultValue = "0", description = "use at most this many rows (0: all)")
    int maxRows;

    @Option(names = "--seed", defaultValue = "42",
            description = "seed of the data order and of the initial weights (LoRA: A's init) (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--checkpoint-every", defaultValue = "0", paramLabel = "N",
            description = "save the whole training state (trained weights, Adam moments, data position) into OUT/checkpoint "
                    + "every N optimizer steps (0: never)")
    int checkpointEvery;

    @Option(names = "--resume", description = "continue from OUT/checkpoint (same data, options and seed as the killed run)")
    boolean resume;

    /** The optimiser settings these options give; {@link StepOptions} adds how each step is computed. */
    TrainingOptions.Builder builder() {
        return TrainingOptions.builder().epochs(epochs).learningRate(lr).batchSize(batchSize).seed(seed);
    }

    /**
     * Resumes and/or turns on checkpointing as asked; returns the info stored with the checkpoint (or {@code info}
     * for a fresh run).
     */
    Map<String, String> checkpointing(LoraTrainer trainer, Path out, Supplier<Map<String, String>> info) {
        Path dir = out.resolve("checkpoint");
        Map<String, String> i = resume ? trainer.resume(dir) : info.get();
        if (checkpointEvery > 0) trainer.checkpointEvery(dir, checkpointEvery, i);
        return i;
    }

    /** After the outputs are written: the checkpoint has served its purpose. */
    static void dropCheckpoint(Path out) throws IOException {
        Path dir = out.resolve("checkpoint");
        Files.deleteIfExists(dir.resolve("trainer-state.safetensors"));
        if (Files.isDirectory(dir)) {
            try (var s = Files.list(dir)) {
                if (s.findAny().isEmpty()) Files.delete(dir);
            }
        }
    }

    /** Tokens of the longest row's inputs (a row of n tokens makes n − 1 predictions): the planned sequence length. */
    int longestRow(List<int[]> rows) {
        int t = 1;
        for (int[] r : rows) t = Math.max(t, r.length - 1);
        return t;
    }

    /** {@link OutFolder#check}, under the name the demo command calls. */
    static void checkOutFolder(Path out) {
        OutFolder.check(out);
    }

    /**
     * Token rows of the data file (any form {@link TextDocuments} reads, the Pile's {@code .jsonl.zst} too), tokenized
     * with the model's tokenizer; with {@code --max-rows} only as much of the file is read as those rows need.
     */
    List<int[]> rows(Path model, Path data) {
        List<int[]> rows;
        try (HfTokenizer tok = HfTokenizer.load(model); Stream<String> docs = TextDocuments.documents(data)) {
            rows = TextDocuments.windows(docs.iterator(), tok, seqLen, maxRows);
        }
        if (rows.isEmpty()) throw new IllegalArgumentException(data + ": too little text for one training row");
        return rows;
    }
}
