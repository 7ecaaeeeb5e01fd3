package org.silora.cli;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.buffer.DataType;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.model.CausalLm;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.PeftAdapters;
import org.silora.memory.MemoryPlanner;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** {@code silora logits --model DIR (--ids 1,2,3 | --text "...")}: one forward pass, full-vocabulary logits as JSON. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Forward pass of an imported checkpoint; prints {\"ids\":[...],\"logits\":[[...],...]} (one row per position, full vocabulary).")
final class LogitsCommand implements Callable<Integer> {

    @Mixin
    ModelOption modelOption;

    @Option(names = "--adapter", paramLabel = "DIR", description = "peft LoRA adapter folder to apply without merging")
    Path adapter;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Mixin
    MemoryOptions memory;

    static final class Input {
        @Option(names = "--ids", split = ",", paramLabel = "ID", description = "token ids, comma separated")
        int[] ids;

        @Option(names = "--text", paramLabel = "TEXT", description = "text, tokenized with the model's tokenizer.json")
        String text;
    }

    @Override
    public Integer call() throws IOException {
        Path model = modelOption.folder();
        int[] ids = input.ids;
        if (ids == null) {
            try (HfTokenizer tok = HfTokenizer.load(model)) {
                ids = tok.encode(input.text);
            }
        }
        if (ids.length == 0) throw new IllegalArgumentException("no tokens to run");
        ModelConfig cfg = modelOption.config();
        for (int id : ids) {
            if (id < 0 || id >= cfg.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + cfg.vocabSize() + ")");
            }
        }
        int tokens = ids.length;
        DataType storage = memory.inference("logits", model,
                st -> MemoryPlanner.inference(cfg, st, 1, tokens, "logits", memory.budget()));
        CausalLm lm = adapter == null ? CausalLm.load(model, LinearFactory.BASE, storage)
                : PeftAdapters.load(model, adapter, storage).lm();
        memory.report();
        INDArray logits = lm.logits(new int[][]{ids});
        writeJson(SiloraMain.json(), ids, logits);
        return 0;
    }

    static void writeJson(OutputStream out, int[] ids, INDArray logits) throws IOException {
        JsonGenerator g = new JsonFactory().createGenerator(out, JsonEncoding.UTF8);
        g.writeStartObject();
        g.writeFieldName("ids");
        g.writeArray(ids, 0, ids.length);
        g.writeFieldName("logits");
        g.writeStartArray();
        long vocab = logits.size(2);
        for (int t = 0; t < ids.length; t++) {
            float[] row = logits.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(t),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).toFloatVector();
            if (row.length != vocab) throw new IllegalStateException("row of " + row.length + " logits, vocabulary " + vocab + Arrays.toString(logits.shape()));
            g.writeStartArray();
            for (float v : row) g.writeNumber(v);
            g.writeEndArray();
        }
        g.writeEndArray();
        g.writeEndObject();
        g.writeRaw('\n');
        g.flush();
    }
}
