package org.silora.demo;

import org.silora.hf.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The tiny base models and data files shipped on the classpath under {@code silora/}: safetensors are memory-mapped,
 * so they are copied to a folder first.
 *
 * <pre>{@code
 * Path llama = ShippedModels.extract("tiny-llama", outDir.resolve("models"));
 * Path test = ShippedModels.data("medical-test.jsonl", outDir.resolve("data"));
 * }</pre>
 */
public final class ShippedModels {

    /** The architectures shipped, by folder name. */
    public static final List<String> MODELS = List.of("tiny-llama", "tiny-gptj");

    private static final List<String> MODEL_FILES = List.of("config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "README.md");

    private ShippedModels() {
    }

    /** Copies the shipped model {@code name} into {@code root/name} (once) and returns that folder. */
    public static Path extract(String name, Path root) throws IOException {
        Path dir = root.resolve(name);
        Files.createDirectories(dir);
        for (String f : MODEL_FILES) copy("silora/models/" + name + "/" + f, dir.resolve(f), !f.equals("README.md"));
        return dir;
    }

    /** Copies the shipped data file {@code name} into {@code root} (once) and returns its path. */
    public static Path data(String name, Path root) throws IOException {
        Files.createDirectories(root);
        Path p = root.resolve(name);
        copy("silora/data/" + name, p, true);
        return p;
    }

    private static void copy(String resource, Path target, boolean required) throws IOException {
        try (InputStream in = ShippedModels.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                if (required) throw new IOException("the build ships no " + resource);
                return;
            }
            byte[] bytes = in.readAllBytes();
            if (Files.exists(target) && Files.size(target) == bytes.length) return;
            AtomicFiles.write(target, os -> os.write(bytes));
        }
    }
}
