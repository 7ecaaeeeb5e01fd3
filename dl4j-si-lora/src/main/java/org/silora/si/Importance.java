package org.silora.si;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.ModelFormatException;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsFile;
import org.silora.hf.safetensors.SafetensorsWriter;
import org.silora.hf.safetensors.TensorInfo;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The result of phase ν: per LoRA module the element-wise importance Ω {@code [out, in]}, its layer weight λ_l and
 * the ν anchor (the ν adapter's A and B, so W^ν = W0 + s·B^ν·A^ν), plus provenance. Stored as
 * {@code importance.safetensors} (SPEC §3): {@code <module>.si_omega}, {@code <module>.lambda} {@code []},
 * {@code <module>.anchor_A}, {@code <module>.anchor_B}, and {@code __metadata__}.
 *
 * <pre>{@code
 * Importance imp = recorder.consolidate(LayerWeighting.AUTO, provenance);
 * imp.save(Path.of("out/importance.safetensors"), DType.F32);
 * Importance again = Importance.load(Path.of("out/importance.safetensors"));
 * again.checkFits(model, ModelFingerprint.of(baseDir));
 * }</pre>
 *
 * @param modules   per module, in graph order
 * @param weighting how λ was formed
 * @param metadata  provenance (base model, fingerprint, targets, r, α, ξ, τ, mode, steps, tokens, data)
 */
public record Importance(Map<String, ModuleImportance> modules, LayerWeighting weighting, Map<String, String> metadata) {

    /**
     * @param omega   Ω {@code [out, in]}
     * @param anchorA A at the end of ν {@code [r, in]}
     * @param anchorB B at the end of ν {@code [out, r]}
     * @param scaling s of the adapter
     * @param lambda  λ_l
     */
    public record ModuleImportance(INDArray omega, INDArray anchorA, INDArray anchorB, double scaling, double lambda) {
        public ModuleImportance {
            if (omega.rank() != 2 || anchorA.rank() != 2 || anchorB.rank() != 2
                    || anchorB.size(0) != omega.size(0) || anchorA.size(1) != omega.size(1) || anchorB.size(1) != anchorA.size(0)) {
                throw new IllegalArgumentException("importance shapes disagree: omega " + Arrays.toString(omega.shape())
                        + ", anchor_A " + Arrays.toString(anchorA.shape()) + ", anchor_B " + Arrays.toString(anchorB.shape()));
            }
        }

        /** The anchor's delta {@code s·B^ν·A^ν}: W^ν − W0. */
        public INDArray anchorDelta() {
            return anchorB.mmul(anchorA).muli(scaling);
        }

        ModuleImportance withLambda(double l) {
            return new ModuleImportance(omega, anchorA, anchorB, scaling, l);
        }
    }

    public Importance {
        modules = Collections.unmodifiableMap(new LinkedHashMap<>(modules));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** Forms λ from the norms of Ω with {@code weighting} and records τ and the weights' entropy in the metadata. */
    public static Importance of(Map<String, ModuleImportance> modules, LayerWeighting weighting, Map<String, String> metadata) {
        List<String> names = new ArrayList<>(modules.keySet());
        double[] norms = new double[names.size()];
        for (int i = 0; i < norms.length; i++) norms[i] = modules.get(names.get(i)).omega().norm2Number().doubleValue();
        double[] lambda = SiMath.layerWeights(norms, weighting);
        Map<String, ModuleImportance> out = new LinkedHashMap<>();
        for (int i = 0; i < norms.length; i++) out.put(names.get(i), modules.get(names.get(i)).withLambda(lambda[i]));
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put("tau", weighting.toString());
        meta.put("tau_used", weighting.uniform() ? "n/a" : Double.toString(SiMath.effectiveTau(norms, weighting)));
        meta.put("lambda_entropy", Double.toString(SiMath.entropy(lambda)));
        meta.put("lambda_entropy_max", Double.toString(Math.log(Math.max(1, norms.length))));
        return new Importance(out, weighting, meta);
    }

    /** The same Ω and anchors with λ formed another way (e.g. {@link LayerWeighting#UNIFORM} for "− layer"). */
    public Importance withWeighting(LayerWeighting w) {
        return of(modules, w, metadata);
    }

    /**
     * The provenance a phase-ν importance records (SPEC §3), including the LoRA settings that
     * {@link #continueFrom(Path)} reads back.
     */
    public static Map<String, String> provenance(String baseModel, String baseFingerprint, LoraModel model, long tokens,
                                                 String data) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("base_model", baseModel);
        p.put("base_model_fingerprint", baseFingerprint);
        p.put("targets", String.join(",", model.modules().keySet()));
        p.put("r", Integer.toString(model.config().r()));
        p.put("lora_alpha", Double.toString(model.config().loraAlpha()));
        p.put("use_rslora", Boolean.toString(model.config().useRslora()));
        p.put("tokens", Long.toString(tokens));
        p.put("data", data);
        return p;
    }

    /**
     * The ν adapter this importance was recorded with (its anchors A and B, and the LoRA settings from the
     * metadata) on the base model in {@code baseDir}: phase μ continues from it (SPEC §2).
     */
    public LoraModel continueFrom(Path baseDir) {
        LoraConfig.Builder b = LoraConfig.builder().baseModelNameOrPath(baseDir.toString());
        try {
            b.r(Integer.parseInt(metadata.get("r"))).loraAlpha(Double.parseDouble(metadata.get("lora_alpha")))
                    .useRslora(Boolean.parseBoolean(metadata.get("use_rslora")));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("importance metadata lacks r / lora_alpha; start from the nu adapter instead");
        }
        b.targetModules(List.copyOf(modules.keySet()));
        Map<String, INDArray[]> factors = new LinkedHashMap<>();
        modules.forEach((k, v) -> factors.put(k, new INDArray[]{v.anchorA().dup(), v.anchorB().dup()}));
        return LoraModel.withFactors(baseDir, b.build(), factors);
    }

    /** ‖Ω_l‖₂ per module. */
    public Map<String, Double> norms() {
        Map<String, Double> n = new LinkedHashMap<>();
        modules.forEach((k, v) -> n.put(k, v.omega().norm2Number().doubleValue()));
        return n;
    }

    /** λ_l per module. */
    public Map<String, Double> lambdas() {
        Map<String, Double> n = new LinkedHashMap<>();
        modules.forEach((k, v) -> n.put(k, v.lambda()));
        return n;
    }

    /** Bytes Ω takes when stored as {@code dtype}. */
    public long omegaBytes(DType dtype) {
        long n = 0;
        for (ModuleImportance m : modules.values()) n += m.omega().length() * dtype.byteSize();
        return n;
    }

    /** Writes {@code importance.safetensors} atomically; Ω as {@code omegaDtype}, the rest F32. */
    public void save(Path file, DType omegaDtype) {
        for (Map.Entry<String, ModuleImportance> e : modules.entrySet()) {
            org.silora.lora.NumericalGuard.requireFinite(e.getValue().omega(), "Omega of " + e.getKey() + " (importance not written)");
        }
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (Map.Entry<String, ModuleImportance> e : modules.entrySet()) {
            String n = e.getKey();
            ModuleImportance m = e.getValue();
            entries.add(new SafetensorsWriter.Entry(n + ".si_omega", omegaDtype, m.omega().shape(), m::omega));
            INDArray lambda = Nd4j.scalar(DataType.FLOAT, (float) m.lambda());
            entries.add(new SafetensorsWriter.Entry(n + ".lambda", DType.F32, new long[0], () -> lambda));
            entries.add(new SafetensorsWriter.Entry(n + ".anchor_A", DType.F32, m.anchorA().shape(), m::anchorA));
            entries.add(new SafetensorsWriter.Entry(n + ".anchor_B", DType.F32, m.anchorB().shape(), m::anchorB));
        }
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put("format", "silora-importance/1");
        meta.put("weighting", weighting.toString());
        if (!modules.isEmpty()) meta.put("scaling", Double.toString(modules.values().iterator().next().scaling()));
        meta.put("targets", String.join(",", modules.keySet()));
        SafetensorsWriter.write(file, meta, entries);
    }

    /** The modules an importance file covers, read from its header alone (e.g. to plan memory before loading Ω). */
    public static List<String> modulesIn(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            if (!"silora-importance/1".equals(f.metadata().get("format"))) {
                throw ModelFormatException.of(file, "not an importance file (metadata format is " + f.metadata().get("format") + ")");
            }
            List<String> names = new ArrayList<>();
            for (String t : f.tensors().keySet()) {
                if (t.endsWith(".si_omega")) names.add(t.substring(0, t.length() - ".si_omega".length()));
            }
            if (names.isEmpty()) throw ModelFormatException.of(file, "holds no Omega tensors");
            return names;
        }
    }

    /** Reads an importance file; a file that is not one, or is incomplete, is a one-line error. */
    public static Importance load(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!"silora-importance/1".equals(meta.get("format"))) {
                throw ModelFormatException.of(file, "not an importance file (metadata format is " + meta.get("format") + ")");
            }
            double scaling;
            try {
                scaling = Double.parseDouble(meta.getOrDefault("scaling", "x"));
            } catch (NumberFormatException e) {
                throw ModelFormatException.of(file, "metadata 'scaling' is missing or not a number");
            }
            LayerWeighting w;
            try {
                w = LayerWeighting.parse(meta.getOrDefault("weighting", "1.0"));
            } catch (IllegalArgumentException e) {
                throw ModelFormatException.of(file, e.getMessage());
            }
            Map<String, ModuleImportance> modules = new LinkedHashMap<>();
            for (TensorInfo t : f.tensors().values()) {
                if (!t.name().endsWith(".si_omega")) continue;
                String n = t.name().substring(0, t.name().length() - ".si_omega".length());
                for (String part : new String[]{".lambda", ".anchor_A", ".anchor_B"}) {
                    if (!f.tensors().containsKey(n + part)) throw ModelFormatException.of(file, "module '" + n + "' lacks '" + n + part + "'");
                }
                INDArray lambda = f.readFloat(n + ".lambda");
                if (lambda.length() != 1) throw ModelFormatException.of(file, "'" + n + ".lambda' must be a scalar");
                try {
                    modules.put(n, new ModuleImportance(f.readFloat(t.name()), f.readFloat(n + ".anchor_A"),
                            f.readFloat(n + ".anchor_B"), scaling, lambda.getDouble(0)));
                } catch (IllegalArgumentException e) {
                    throw ModelFormatException.of(file, "module '" + n + "': " + e.getMessage());
                }
            }
            if (modules.isEmpty()) throw ModelFormatException.of(file, "holds no '<module>.si_omega' tensors");
            for (String k : f.tensors().keySet()) {
                String n = k.replaceFirst("\\.(si_omega|lambda|anchor_A|anchor_B)$", "");
                if (!modules.containsKey(n)) throw ModelFormatException.of(file, "unexpected tensor '" + k + "'");
            }
            Map<String, String> m = new LinkedHashMap<>(meta);
            return new Importance(modules, w, m);
        }
    }

    /**
     * Refuses a base model other than the one Ω was recorded on ({@code baseFingerprint} from
     * {@code ModelFingerprint.of(dir)}; {@code null} skips the check), naming {@code file} in the one-line message.
     */
    public void checkBase(String baseFingerprint, Path file) {
        String recorded = metadata.get("base_model_fingerprint");
        if (recorded != null && baseFingerprint != null && !recorded.equals(baseFingerprint)) {
            throw ModelFormatException.of(file, "was recorded on another base model (" + metadata.getOrDefault("base_model", "?")
                    + ", " + recorded + "), not this one (" + baseFingerprint + ")");
        }
    }

    /**
     * Checks this importance belongs to {@code model} (same base fingerprint when both are known, the same targeted
     * modules, shapes and rank); a mismatch is a one-line error.
     */
    public void checkFits(LoraModel model, String baseFingerprint, Path file) {
        checkBase(baseFingerprint, file);
        if (!modules.keySet().equals(model.modules().keySet())) {
            throw ModelFormatException.of(file, "covers modules " + abbreviate(modules.keySet()) + ", the adapter targets "
                    + abbreviate(model.modules().keySet()));
        }
        for (LoraModule m : model.modules().values()) {
            ModuleImportance mi = modules.get(m.name());
            if (mi.omega().size(0) != m.base().out() || mi.omega().size(1) != m.base().in()) {
                throw ModelFormatException.of(file, "module '" + m.name() + "' has importance of shape "
                        + Arrays.toString(mi.omega().shape()) + ", the model's weight is [" + m.base().out() + ", " + m.base().in() + "]");
            }
        }
    }

    private static String abbreviate(java.util.Collection<String> names) {
        List<String> l = new ArrayList<>(names);
        return l.size() <= 4 ? l.toString() : "[" + l.get(0) + ", " + l.get(1) + ", ... (" + l.size() + " in all)]";
    }
}
