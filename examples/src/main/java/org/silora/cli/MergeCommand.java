package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.hf.safetensors.DType;
import org.silora.io.MergedCheckpoints;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code silora merge --model DIR --adapter DIR --out DIR}: peft's merge_and_unload + save_pretrained. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Write the merged model (W0 + s*B*A folded in) as a Hugging Face checkpoint: config, safetensors, tokenizer files.")
final class MergeCommand implements Callable<Integer> {

    @Mixin
    ModelOption modelOption;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "peft LoRA adapter folder")
    Path adapter;

    @Mixin
    OutFolder outOption;

    @Option(names = "--dtype", paramLabel = "F32|F16|BF16", description = "storage type of the written tensors (default: each base tensor's own)")
    DType dtype;

    @Override
    public Integer call() throws Exception {
        Path out = outOption.checked();   // a file named by --out is refused before the adapter is read
        if (out.toAbsolutePath().normalize().equals(modelOption.given.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--out must differ from --model (the base checkpoint is read while writing)");
        }
        long t0 = System.nanoTime();
        Path model = modelOption.folder();
        // tensor by tensor from the adapter's factors: the base model is never built, so any size merges
        LoraConfig config = PeftAdapters.readConfig(adapter);
        var factors = PeftAdapters.readFactors(adapter);
        try {
            MergedCheckpoints.write(config, factors, model, out, dtype);
        } catch (IllegalArgumentException e) {
            throw org.silora.hf.ModelFormatException.of(adapter, "does not fit the base model in " + model + ": " + e.getMessage());
        }
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("out", out.toString());
        o.put("merged_modules", factors.size());
        o.put("r", config.r());
        o.put("lora_alpha", config.loraAlpha());
        o.put("use_rslora", config.useRslora());
        o.put("bytes", Files.size(out.resolve("model.safetensors")));
        o.put("seconds", (System.nanoTime() - t0) / 1e9);
        SiloraMain.json().println(o);
        return 0;
    }
}
