package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.console.ProgressBar;
import org.silora.ewc.FisherEstimator;
import org.silora.ewc.FisherInformation;
import org.silora.hf.safetensors.DType;
import org.silora.hf.tokenizer.HfTokenizer;
import org.silora.io.ModelFingerprint;
import org.silora.io.TextDocuments;
import org.silora.memory.MemoryPlanner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code silora fisher}: the EWC-LoRA per-sample empirical Fisher of every base linear weight (SPEC §2). */
@Command(name = "fisher", mixinStandardHelpOptions = true,
        description = "EWC-LoRA: per-sample empirical Fisher (mean of squared per-sample gradients) of every base linear weight except lm_head, over N samples of general text; writes safetensors.")
final class FisherCommand implements Callable<Integer> {

    @Mixin
    ModelOption modelOption;

    @Mixin
    TextDataOption dataOption;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the Fisher file (safetensors, written atomically)")
    Path out;

    @Option(names = "--samples", defaultValue = "20000", description = "N samples (token rows; the paper: 20000) (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--seq-len", defaultValue = "128", description = "tokens per sample row (default ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--batch-size", defaultValue = "8", description = "samples per forward; gradients stay per sample (default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--dtype", defaultValue = "F32", description = "F32, F16 or BF16 (default ${DEFAULT-VALUE})")
    String dtype;

    @Mixin
    MemoryOptions memory;

    @Override
    public Integer call() throws Exception {
        if (samples < 1) throw new IllegalArgumentException("--samples must be >= 1");
        if (seqLen < 1) throw new IllegalArgumentException("--seq-len must be >= 1");
        DType dt;
        try {
            dt = DType.valueOf(dtype.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--dtype must be F32, F16 or BF16, got " + dtype);
        }
        if (dt != DType.F32 && dt != DType.F16 && dt != DType.BF16) throw new IllegalArgumentException("--dtype must be F32, F16 or BF16, got " + dtype);
        Path model = modelOption.folder();
        Path data = dataOption.file;
        String fingerprint = ModelFingerprint.of(model);
        List<int[]> rows = new ArrayList<>();
        try (HfTokenizer tok = HfTokenizer.load(model); Stream<String> docs = TextDocuments.documents(data)) {
            // read documents only until N rows are cut (the Pile is streamed)
            var it = docs.iterator();
            List<String> chunk = new ArrayList<>();
            while (rows.size() < samples && it.hasNext()) {
                chunk.add(it.next());
                if (chunk.size() == 64 || !it.hasNext()) {
                    rows.addAll(TextDocuments.windows(chunk, tok, seqLen));
                    chunk.clear();
                }
            }
        }
        if (rows.isEmpty()) throw new IllegalArgumentException(data + ": too little text for one sample");
        if (rows.size() > samples) rows = rows.subList(0, samples);
        if (rows.size() < samples) System.err.println("fisher: the data gives " + rows.size() + " samples of " + seqLen + " tokens, fewer than --samples " + samples);
        memory.training(MemoryPlanner.fisher(modelOption.config(), Math.min(batchSize, rows.size()), seqLen, memory.budget()));
        FisherEstimator est = FisherEstimator.of(model);
        memory.report();
        FisherInformation f;
        long t0 = System.nanoTime();
        try (ProgressBar bar = new ProgressBar("fisher", rows.size())) {
            f = est.compute(rows, batchSize, (done, total) -> bar.update(done, total, "samples"));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Map<String, String> meta = new LinkedHashMap<>(f.metadata());
        meta.put("base_model", model.toString());
        meta.put("base_model_fingerprint", fingerprint);
        meta.put("data", data.toString());
        meta.put("seq_len", Integer.toString(seqLen));
        FisherInformation withMeta = new FisherInformation(f.modules(), meta);
        long bytes = withMeta.save(out, dt);

        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("samples", rows.size());
        o.put("tokens", Long.parseLong(meta.get("tokens")));
        o.put("modules", f.modules().size());
        o.put("seconds", seconds);
        o.put("samples_per_s", rows.size() / Math.max(seconds, 1e-9));
        o.put("bytes", bytes);
        o.put("dtype", dt.name());
        o.put("out", out.toString());
        SiloraMain.json().println(om.writeValueAsString(o));
        return 0;
    }
}
