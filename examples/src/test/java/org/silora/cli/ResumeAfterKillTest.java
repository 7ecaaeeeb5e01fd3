package org.silora.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real child process running {@code train-general} is killed with SIGKILL after a checkpoint; {@code --resume}
 * then ends with the same adapter and importance as an uninterrupted run.
 */
class ResumeAfterKillTest extends CapturedCli {

    @TempDir
    Path tmp;

    @Test
    void killedAndResumedRunEqualsUninterruptedRun() throws Exception {
        Path text = generalText(40);
        Path model = tmp.resolve("model");
        BpeTrainer.train(List.of(Files.readString(text)), BpeTrainer.Options.llama(300), model);
        int vocab;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            vocab = tok.vocabSize();
        }
        ModelConfig cfg = new LlamaConfig(vocab, 32, 64, 2, 4, 2, 8, 1e-5, 10000, null, 256, false, false, false);
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 3), DType.F32, 1);
        List<String> args = new ArrayList<>(List.of("train-general", "--model", model.toString(), "--data", text.toString(),
                "--seq-len", "16", "--batch-size", "2", "--epochs", "3", "--lr", "3e-3", "--r", "4", "--checkpoint-every", "3"));

        Path whole = uninterrupted(args);
        Path killed = tmp.resolve("killed");
        killAfterCheckpoint(args, killed, "adapter_model.safetensors");

        List<String> r = new ArrayList<>(args);
        r.addAll(List.of("--out", killed.toString(), "--resume"));
        assertEquals(0, execute(r.toArray(String[]::new)), err.toString());

        assertSameTensors(whole, killed, "adapter_model.safetensors", "importance.safetensors");
    }

    /** The same for {@code pretrain}: every weight of the resumed model equals the uninterrupted one. */
    @Test
    void killedAndResumedPretrainingEqualsUninterruptedRun() throws Exception {
        Path text = generalText(30);
        List<String> args = List.of("pretrain", "--arch", "llama", "--data", text.toString(), "--heldout", text.toString(),
                "--vocab", "300", "--hidden", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--intermediate", "64",
                "--seq-len", "16", "--batch-size", "2", "--epochs", "3", "--dtype", "F32", "--checkpoint-every", "3");
        Path whole = uninterrupted(args);
        Path killed = tmp.resolve("killed");
        killAfterCheckpoint(args, killed, "model.safetensors");
        List<String> r = new ArrayList<>(args);
        r.addAll(List.of("--out", killed.toString(), "--resume"));
        assertEquals(0, execute(r.toArray(String[]::new)), err.toString());
        assertSameTensors(whole, killed, "model.safetensors");
    }

    private Path generalText(int paragraphs) throws java.io.IOException {
        Path text = tmp.resolve("general.txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < paragraphs; i++) {
            sb.append("Paragraph ").append(i).append(": the committee said the city would pay for the roads, and the county agreed ")
                    .append("to share the work before the end of the year.\n\n");
        }
        Files.writeString(text, sb.toString());
        return text;
    }

    /** Runs {@code args --out whole} in this JVM to the end; the finished run leaves no checkpoint. */
    private Path uninterrupted(List<String> args) throws java.io.IOException {
        Path whole = tmp.resolve("whole");
        List<String> a = new ArrayList<>(args);
        a.addAll(List.of("--out", whole.toString()));
        assertEquals(0, execute(a.toArray(String[]::new)), err.toString());
        assertFalse(Files.exists(whole.resolve("checkpoint/trainer-state.safetensors")), "a finished run removes its checkpoint");
        return whole;
    }

    /** Runs {@code args --out out} in a child JVM and SIGKILLs it once a checkpoint holds at least 6 steps. */
    private void killAfterCheckpoint(List<String> args, Path out, String notYetWritten) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), SiloraMain.class.getName()));
        cmd.addAll(args);
        cmd.addAll(List.of("--out", out.toString()));
        Path log = tmp.resolve(out.getFileName() + "-child.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SILORA_NO_RELAUNCH", "1");
        Process child = pb.start();
        Path state = out.resolve("checkpoint/trainer-state.safetensors");
        int savedSteps = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (child.isAlive() && System.nanoTime() < deadline) {
            if (Files.exists(state)) {
                try (SafetensorsFile f = SafetensorsFile.open(state)) {
                    savedSteps = Integer.parseInt(f.metadata().get("run_steps"));
                } catch (RuntimeException e) {
                    continue;   // replaced while we looked: look again
                }
                if (savedSteps >= 6) break;
            }
            Thread.sleep(20);
        }
        assertTrue(child.isAlive(), "the child finished before it could be killed: " + Files.readString(log));
        child.destroyForcibly();   // SIGKILL
        child.waitFor(30, TimeUnit.SECONDS);
        assertTrue(savedSteps >= 6, "a checkpoint was written before the kill");
        assertFalse(Files.exists(out.resolve(notYetWritten)), "the killed run wrote no " + notYetWritten);
    }

    private static void assertSameTensors(Path whole, Path killed, String... files) {
        for (String file : files) {
            try (SafetensorsFile x = SafetensorsFile.open(whole.resolve(file)); SafetensorsFile y = SafetensorsFile.open(killed.resolve(file))) {
                assertEquals(x.tensors().keySet(), y.tensors().keySet());
                for (String k : x.tensors().keySet()) {
                    INDArray ax = x.readFloat(k);
                    INDArray ay = y.readFloat(k);
                    double scale = Math.max(1e-30, ax.amaxNumber().doubleValue());
                    assertEquals(0.0, ax.sub(ay).amaxNumber().doubleValue() / scale, 1e-5, file + " " + k);
                }
            }
        }
    }
}
