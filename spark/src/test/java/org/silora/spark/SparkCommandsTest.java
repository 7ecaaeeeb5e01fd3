package org.silora.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.cli.SiloraMain;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.testing.TinyModels;
import org.silora.hf.tokenizer.BpeTrainer;
import org.silora.hf.tokenizer.HfTokenizer;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The spark jar's commands, {@code --master local[2] --workers 2}, write the files of the single-process commands
 * with the same options, and their tensors agree within 1e-3 relative: train-general (EXACT SI: adapter and
 * importance.safetensors) and train-domain --method si (adapter); the JSON summaries have the same keys plus
 * {@code workers} and {@code master}.
 */
class SparkCommandsTest {

    @TempDir
    Path tmp;

    /** Runs {@code args} with the given launcher, returns its JSON summary. */
    private static JsonNode run(boolean spark, String... args) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = spark ? SiloraSparkMain.execute(args) : SiloraMain.execute(args);
        } finally {
            System.setOut(old);
        }
        assertEquals(0, rc, String.join(" ", args));
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    private static String[] concat(String[] a, String... b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static void assertSameTensors(Path ref, Path got) {
        try (SafetensorsFile a = SafetensorsFile.open(ref); SafetensorsFile b = SafetensorsFile.open(got)) {
            assertEquals(a.tensors().keySet(), b.tensors().keySet(), ref.getFileName() + ": tensor names");
            int nonZero = 0;
            for (String k : a.tensors().keySet()) {
                INDArray x = a.readFloat(k);
                INDArray y = b.readFloat(k);
                double norm = x.norm2Number().doubleValue();
                double diff = x.sub(y).norm2Number().doubleValue();
                assertTrue(diff <= 1e-3 * norm, ref.getFileName() + " " + k + ": relative L2 difference " + diff / norm);
                if (norm > 0) nonZero++;
            }
            assertTrue(nonZero > 0, ref.getFileName() + " holds only zeros");
        }
    }

    private static Set<String> keys(JsonNode n) {
        Set<String> k = new TreeSet<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) k.add(it.next());
        return k;
    }

    @Test
    void trainCommandsOnTwoWorkersWriteWhatOneProcessWrites() throws Exception {
        Path general = tmp.resolve("general.txt");
        Files.writeString(general, """
                The committee said that the city should pay for the new roads before the end of the year.
                It added that the work would be done by the state and by the county together.

                A man walked down the road to the old house, where his brother had lived for many years.
                """.repeat(3));
        Path domain = tmp.resolve("domain.jsonl");
        Files.writeString(domain, """
                {"text":"Appendicitis is a disease: inflammation of the vermiform appendix."}
                {"text":"Insulin is a hormone: a hormone secreted by the islets of Langerhans."}
                {"text":"Aspirin is a drug: the acetylated derivative of salicylic acid."}
                """.repeat(2));
        Path model = tmp.resolve("model");
        BpeTrainer.train(List.of(Files.readString(general), Files.readString(domain)), BpeTrainer.Options.llama(300), model);
        int vocab;
        try (HfTokenizer tok = HfTokenizer.load(model)) {
            vocab = tok.vocabSize();
        }
        ModelConfig cfg = new LlamaConfig(vocab, 32, 64, 2, 4, 2, 8, 1e-5, 10000, null, 256, false, false, false);
        TinyModels.write(model, cfg, TinyModels.randomWeights(cfg, 3), DType.F32, 1);
        String[] small = {"--seq-len", "24", "--batch-size", "3", "--epochs", "2", "--lr", "3e-3"};
        String[] cluster = {"--master", "local[2]", "--workers", "2"};

        String[] nu = {"train-general", "--model", model.toString(), "--data", general.toString(), "--si-mode", "exact", "--r", "4"};
        JsonNode one = run(false, concat(concat(nu, small), "--out", tmp.resolve("nu-1").toString()));
        JsonNode two = run(true, concat(concat(concat(nu, small), cluster), "--out", tmp.resolve("nu-2").toString()));
        Set<String> expected = keys(one);
        expected.add("workers");
        expected.add("master");
        assertEquals(expected, keys(two), "the summary's keys");
        assertEquals(2, two.get("workers").asInt());
        assertEquals("local[2]", two.get("master").asText());
        assertEquals(one.get("steps").asInt(), two.get("steps").asInt());
        assertSameTensors(tmp.resolve("nu-1/adapter_model.safetensors"), tmp.resolve("nu-2/adapter_model.safetensors"));
        assertSameTensors(tmp.resolve("nu-1/importance.safetensors"), tmp.resolve("nu-2/importance.safetensors"));

        String[] mu = {"train-domain", "--model", model.toString(), "--method", "si", "--importance",
                tmp.resolve("nu-1/importance.safetensors").toString(), "--data", domain.toString(), "--phi", "10"};
        run(false, concat(concat(mu, small), "--out", tmp.resolve("mu-1").toString()));
        JsonNode m2 = run(true, concat(concat(concat(mu, small), cluster), "--out", tmp.resolve("mu-2").toString()));
        assertTrue(m2.get("penalty_last").asDouble() > 0, m2.toString());
        assertSameTensors(tmp.resolve("mu-1/adapter_model.safetensors"), tmp.resolve("mu-2/adapter_model.safetensors"));
    }
}
