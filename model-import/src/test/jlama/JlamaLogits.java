/*
 * Child program of JlamaCrossCheckTest (model-import). Jlama 0.8.4 needs Java 21+ and the incubating Vector API, so
 * it cannot run in the project's Java 17 test JVM; the test runs this file as a single-file source program:
 *
 *   $JAVA21/bin/java --add-modules jdk.incubator.vector -cp <jlama-core and its dependencies> \
 *       JlamaLogits.java <modelDir> <outFile> <id> <id> ...
 *
 * It loads <modelDir> (config.json, model.safetensors, tokenizer.json) computing in F32 throughout,
 * runs the ids from position 0 in one batch, and writes, for every position t, two lines to <outFile>:
 *   L t v0 v1 ...   the raw logits (filled in by AbstractModel.sample with temperature 0)
 *   P t p0 p1 ...   the probabilities from AbstractModel.getLogits (Jlama applies a softmax there)
 * Floats are written with Float.toString, so they read back exactly.
 */

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

public class JlamaLogits {

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: JlamaLogits <modelDir> <outFile> <id>...");
            System.exit(2);
        }
        File modelDir = new File(args[0]);
        Path out = Path.of(args[1]);
        int[] ids = new int[args.length - 2];
        for (int i = 0; i < ids.length; i++) ids[i] = Integer.parseInt(args[i + 2]);

        // F32 working memory and activations; weights stored in BF16/F16 are widened to F32 on load (modelQuantization
        // F32), so Jlama computes in F32 like the graph under test instead of rounding activations to BF16.
        AbstractModel model = ModelSupport.loadModel(modelDir, null, DType.F32, DType.F32, Optional.of(DType.F32),
                Optional.empty());
        int vocab = model.getConfig().vocabularySize;
        StringBuilder sb = new StringBuilder();
        try (KvBufferCache cache = new KvBufferCache(model);
             KvBufferCache.KvBuffer kv = cache.getEphemeralKvBuffer();
             AbstractTensor hidden = model.batchForward(ids, 0, kv);
             AbstractTensor logits = model.makeDenseTensor(1, vocab)) {
            if (hidden.shape().first() != ids.length) {
                throw new IllegalStateException("batchForward returned " + hidden.shape().first() + " rows for "
                        + ids.length + " ids");
            }
            for (int t = 0; t < ids.length; t++) {
                model.sample(hidden.slice(t), 0f, 0f, logits);
                sb.append("L ").append(t);
                for (int v = 0; v < vocab; v++) sb.append(' ').append(logits.get(0, v));
                sb.append('\n');
                float[] probs = model.getLogits(hidden.slice(t));
                sb.append("P ").append(t);
                for (float p : probs) sb.append(' ').append(p);
                sb.append('\n');
            }
        }
        Files.writeString(out, sb, StandardCharsets.UTF_8);
        model.close();
        System.exit(0);
    }
}
