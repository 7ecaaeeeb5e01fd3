package org.silora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.RopeScaling;
import org.silora.hf.safetensors.DType;
import org.silora.hf.testing.TinyModels;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory as a user meets it on the command line: a run that does not fit is refused before loading, with one line
 * naming the estimate, the budget and the way out; 16-bit weights give the float32 logits; training refuses them; a
 * Hugging Face hub id is found in the local cache; an out-of-memory error ends as one line, without a stack trace.
 */
class MemoryCliTest extends CapturedCli {

    @TempDir
    Path tmp;

    private Path tiny(DType dtype) throws Exception {
        ModelConfig cfg = TinyModels.llamaGqa();
        Path model = tmp.resolve("m-" + dtype);
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 1), dtype, 1);
        return model;
    }

    /** The one line a failed command printed (libraries' log lines of the test set-up aside). */
    private String errLine() {
        String e = err.toString(StandardCharsets.UTF_8).lines()
                .filter(l -> !l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d+ (WARN|INFO) .*")).collect(java.util.stream.Collectors.joining("\n")).strip();
        assertEquals(1, e.lines().count(), e);
        assertEquals(0, out.size());
        return e;
    }

    @Test
    void aRunThatDoesNotFitIsRefusedBeforeLoading() throws Exception {
        Path model = tiny(DType.F32);
        assertEquals(1, execute("logits", "--model", model.toString(), "--ids", "1,2,3", "--max-memory", "1m"));
        String e = errLine();
        assertTrue(e.startsWith("silora logits: error: logits needs about "), e);
        assertTrue(e.contains("more than the 0.0 GB it may use (--max-memory"), e);
        assertTrue(e.contains("lower --batch-size"), e);

        Path shipped = org.silora.demo.ShippedModels.extract("tiny-llama", tmp.resolve("shipped"));
        Path data = tmp.resolve("d.txt");
        Files.writeString(data, "one two three four five six seven eight nine ten ".repeat(40));
        assertEquals(1, execute("train-general", "--model", shipped.toString(), "--data", data.toString(), "--out",
                tmp.resolve("o").toString(), "--max-memory", "600m", "--batch-size", "16", "--seq-len", "512"));
        e = errLine();
        assertTrue(e.startsWith("silora train-general: error: train-general needs about "), e);
        assertTrue(e.contains("--grad-accum"), e);
        assertFalse(Files.exists(tmp.resolve("o").resolve("adapter_model.safetensors")));

        // where the float32 weights alone exceed the budget no batch shape helps, and the line says so
        assertEquals(1, execute("train-general", "--model", shipped.toString(), "--data", data.toString(), "--out",
                tmp.resolve("o").toString(), "--max-memory", "2m", "--seq-len", "8"));
        e = errLine();
        assertTrue(e.contains("float32 weights alone do not fit"), e);
        assertFalse(e.contains("--grad-accum"), e);
    }

    @Test
    void sixteenBitWeightsGiveTheFloatLogitsAndTrainingRefusesThem() throws Exception {
        Path model = tiny(DType.BF16);
        assertEquals(0, execute("logits", "--model", model.toString(), "--ids", "1,2,3,4", "--weights-dtype", "f32"), err.toString());
        JsonNode f32 = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertEquals(0, execute("logits", "--model", model.toString(), "--ids", "1,2,3,4", "--weights-dtype", "bf16"), err.toString());
        JsonNode bf16 = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("memory plan for logits: about "), "the plan is reported: " + err);
        assertEquals(f32, bf16);

        Path shipped = org.silora.demo.ShippedModels.extract("tiny-llama", tmp.resolve("shipped"));
        Path data = tmp.resolve("d.txt");
        Files.writeString(data, "one two three four five six seven eight nine ten ".repeat(40));
        assertEquals(1, execute("train-general", "--model", shipped.toString(), "--data", data.toString(), "--out",
                tmp.resolve("o").toString(), "--weights-dtype", "bf16", "--seq-len", "8"));
        assertTrue(errLine().contains("training keeps the base weights in float32"));
        assertEquals(1, execute("logits", "--model", model.toString(), "--ids", "1", "--weights-dtype", "int8"));
        assertTrue(errLine().contains("--weights-dtype must be auto, f32, bf16 or f16"));
    }

    /** A hub-cache layout as huggingface_hub writes it: blobs, a snapshot of links into them, refs/main. */
    @Test
    void aHubIdIsFoundInTheLocalCache() throws Exception {
        Path model = tiny(DType.BF16);
        Path cache = tmp.resolve("hub");
        Path repo = cache.resolve("models--acme--tiny-llama");
        Path snap = repo.resolve("snapshots").resolve("0123abcd");
        Files.createDirectories(snap);
        Files.createDirectories(repo.resolve("blobs"));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs").resolve("main"), "0123abcd");
        int i = 0;
        try (var files = Files.list(model)) {
            for (Path f : files.toList()) {
                Path blob = repo.resolve("blobs").resolve("blob" + i++);
                Files.copy(f, blob);
                Files.createSymbolicLink(snap.resolve(f.getFileName()), Path.of("../../blobs").resolve(blob.getFileName()));
            }
        }
        assertEquals(0, execute("logits", "--model", model.toString(), "--ids", "3,1,4"), err.toString());
        JsonNode direct = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        assertEquals(0, execute("logits", "--model", snap.toString(), "--ids", "3,1,4"), err.toString());
        assertEquals(direct, new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8)));

        // the hub id: resolved from HF_HUB_CACHE, which only a new process can be given
        ProcessResult r = child(List.of(), List.of("logits", "--model", "acme/tiny-llama", "--ids", "3,1,4"), "HF_HUB_CACHE", cache.toString());
        assertEquals(0, r.exit, r.err);
        assertEquals(direct, new ObjectMapper().readTree(r.out));
        r = child(List.of(), List.of("logits", "--model", "acme/other", "--ids", "3,1,4"), "HF_HUB_CACHE", cache.toString());
        assertEquals(1, r.exit);
        assertEquals(1, r.err.strip().lines().count(), r.err);
        assertTrue(r.err.contains("acme/other") && r.err.contains("Hugging Face cache"), r.err);
    }

    @Test
    void runningOutOfMemoryIsOneLine() throws Exception {
        // 42 M parameters (166 MB in F32) against a process limit (JavaCPP's, checked as memory is allocated) that the
        // JVM and ND4J stay below (~120 MB) until the model loads
        ModelConfig cfg = new LlamaConfig(8192, 1024, 2752, 2, 16, 16, 64, 1e-5, 10000.0, RopeScaling.NONE, 128, false, false, false);
        Path model = tmp.resolve("big");
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 3), DType.BF16, 1);
        ProcessResult r = child(List.of("-Dorg.bytedeco.javacpp.maxphysicalbytes=220m"),
                List.of("logits", "--model", model.toString(), "--ids", "1,2,3", "--weights-dtype", "f32"));
        assertEquals(1, r.exit, r.err);
        String[] lines = r.err.strip().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("silora logits: error: out of memory"), r.err);
        assertFalse(r.err.contains("\tat "), "no stack trace: " + r.err);
        assertFalse(r.err.contains("Exception in thread"), r.err);
    }

    private record ProcessResult(int exit, String out, String err) {
    }

    private ProcessResult child(List<String> jvm, List<String> args, String... env) throws Exception {
        List<String> cmd = new ArrayList<>(SiloraMain.javaCommand(jvm, args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("SILORA_NO_RELAUNCH", "1");
        for (int i = 0; i + 1 < env.length; i += 2) pb.environment().put(env[i], env[i + 1]);
        Path o = tmp.resolve("child.out");
        Path e = tmp.resolve("child.err");
        pb.redirectOutput(o.toFile()).redirectError(e.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "the child finished");
        return new ProcessResult(p.exitValue(), Files.readString(o), Files.readString(e));
    }
}
