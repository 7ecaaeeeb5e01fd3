package org.silora.cli;

import org.silora.hf.ModelLocation;
import org.silora.hf.config.ModelConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --model}, the one declaration every command that reads a model mixes in ({@code @Mixin ModelOption model}).
 * SPEC §7: a folder, a hub-cache snapshot or a hub id found in the local cache.
 */
final class ModelOption {

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "base Hugging Face model folder (config.json, *.safetensors), hub-cache snapshot, or hub id in the local cache")
    Path given;

    private Path folder;

    /** The model folder {@code --model} names, resolved once. */
    Path folder() {
        if (folder == null) folder = ModelLocation.resolve(given.toString());
        return folder;
    }

    /** The model's config, after checking its checkpoint headers and tensor shapes. */
    ModelConfig config() {
        return org.silora.hf.model.CausalLm.validate(folder());
    }
}
