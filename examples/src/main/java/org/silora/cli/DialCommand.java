package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.control.ImportanceDial;
import org.silora.hf.ModelFormatException;
import org.silora.hf.safetensors.DType;
import org.silora.io.ModelFingerprint;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import org.silora.si.Importance;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code silora dial --model M --adapter MU --importance FILE --strength s --out DIR [--rank r]}: the importance dial
 * after training (issue 18), or peft's uniform rescale of the μ change with {@code --uniform α}.
 */
@Command(name = "dial", mixinStandardHelpOptions = true,
        description = "Move a phase-mu model back toward the nu anchor without retraining: each element of the mu change keeps "
                + "1/(1+s*Omega^) of itself (--strength s), or all of it alpha (--uniform alpha); writes a merged Hugging Face "
                + "checkpoint into --out and, with --rank r, a peft adapter from a truncated SVD into --out/adapter.")
final class DialCommand implements Callable<Integer> {

    @Mixin
    ModelOption modelOption;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "the phase-mu peft adapter")
    Path adapter;

    @Option(names = "--importance", required = true, paramLabel = "FILE", description = "importance.safetensors of phase nu (Omega, lambda, the nu anchor)")
    Path importance;

    @Option(names = "--strength", paramLabel = "S", description = "dial strength s >= 0 (0 gives the mu model back exactly)")
    Double strength;

    @Option(names = "--uniform", paramLabel = "ALPHA", description = "instead of --strength: keep alpha of the whole mu change "
            + "(WiSE-FT; 1 is the mu model, 0 the nu model)")
    Double uniform;

    @Option(names = "--rank", paramLabel = "R", description = "also write a rank-R peft adapter of the dialled delta (truncated SVD) into --out/adapter")
    Integer rank;

    @Mixin
    OutFolder outOption;

    @Option(names = "--dtype", paramLabel = "F32|F16|BF16", description = "storage type of the merged tensors (default: each base tensor's own)")
    DType dtype;

    @Override
    public Integer call() throws Exception {
        Path out = outOption.checked();
        if ((strength == null) == (uniform == null)) throw new IllegalArgumentException("give exactly one of --strength S and --uniform ALPHA");
        ImportanceDial.Setting setting = strength != null ? ImportanceDial.Setting.dial(strength) : ImportanceDial.Setting.uniform(uniform);
        if (rank != null && rank < 1) throw new IllegalArgumentException("--rank must be >= 1, got " + rank);
        if (out.toAbsolutePath().normalize().equals(modelOption.given.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--out must differ from --model (the base checkpoint is read while writing)");
        }
        long t0 = System.nanoTime();
        Path model = modelOption.folder();
        LoraConfig config = PeftAdapters.readConfig(adapter);
        Map<String, INDArray[]> factors = PeftAdapters.readFactors(adapter);
        Importance imp = Importance.load(importance);
        imp.checkBase(ModelFingerprint.of(model), importance);
        ImportanceDial dial;
        try {
            dial = ImportanceDial.of(config, factors, imp);
        } catch (IllegalArgumentException e) {
            throw ModelFormatException.of(importance, "does not fit the adapter " + adapter + ": " + e.getMessage());
        }
        if (rank != null) {
            for (Map.Entry<String, INDArray[]> e : factors.entrySet()) {
                long full = Math.min(e.getValue()[1].size(0), e.getValue()[0].size(1));
                if (rank > full) throw new IllegalArgumentException("--rank " + rank + " exceeds the full rank " + full + " of module " + e.getKey());
            }
        }
        try {
            dial.writeMerged(model, out, setting, dtype);
        } catch (IllegalArgumentException e) {
            throw ModelFormatException.of(adapter, "does not fit the base model in " + model + ": " + e.getMessage());
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode o = om.createObjectNode();
        o.put("out", out.toString());
        o.put(setting.kind() == ImportanceDial.Kind.DIAL ? "strength" : "alpha", setting.value());
        o.put("modules", factors.size());
        o.put("kept_fraction", dial.keptFraction(setting));   // ||kept|| / ||mu change||, 1 at strength 0
        o.put("bytes", Files.size(out.resolve("model.safetensors")));
        if (rank != null) {
            Map<String, String> prov = new LinkedHashMap<>();
            prov.put("silora.dial_from_adapter", adapter.toString());
            prov.put("silora.dial_importance", importance.toString());
            ImportanceDial.AdapterResult r = dial.writeAdapter(out.resolve("adapter"), setting, rank, prov);
            o.put("adapter", out.resolve("adapter").toString());
            o.put("rank", r.rank());
            o.put("svd_relative_error", r.relativeError());
            ObjectNode per = o.putObject("svd_relative_error_per_module");
            r.relativeErrors().forEach(per::put);
        }
        o.put("seconds", (System.nanoTime() - t0) / 1e9);
        SiloraMain.json().println(om.writeValueAsString(o));
        return 0;
    }
}
