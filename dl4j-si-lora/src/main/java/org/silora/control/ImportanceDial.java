package org.silora.control;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.io.MergedCheckpoints;
import org.silora.io.PeftAdapters;
import org.silora.lora.LoraConfig;
import org.silora.si.Importance;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Moves a trained phase-μ model back toward the ν anchor after training, without retraining. With D^μ = s·B^μ·A^μ the
 * μ adapter's delta and D^ν the ν anchor's (from the importance file), the μ phase's change is Δ = D^μ − D^ν; a setting
 * keeps part of it:
 * <ul>
 *   <li>{@link Setting#dial(double) dial s}: element i keeps Δ_i / (1 + s·Ω̂_i), Ω̂ = L·λ_l·Ω_l / mean(Ω_l) (Ω normalised
 *   per module to mean 1, weighted by λ relative to the uniform 1/L): weights important for general text return toward
 *   W^ν, the rest keep their domain change;</li>
 *   <li>{@link Setting#uniform(double) uniform α}: every element keeps α·Δ (WiSE-FT's interpolation between the ν model
 *   at α = 0 and the μ model at α = 1, peft's one-scalar rescale of the μ change).</li>
 * </ul>
 * The weight written is {@code W = (W0 + D^μ) − (Δ − kept)}, computed so that strength 0 (or α = 1) gives the μ model
 * bit for bit, exactly as {@code silora merge} writes it. The result is no longer low rank: it is written as a merged
 * checkpoint, or as a rank-r peft adapter from the truncated SVD of W − W0 ({@link LowRank}).
 *
 * <pre>{@code
 * ImportanceDial dial = ImportanceDial.of(PeftAdapters.readConfig(mu), PeftAdapters.readFactors(mu), Importance.load(imp));
 * dial.writeMerged(base, Path.of("out/dial-2"), ImportanceDial.Setting.dial(2.0), null);
 * ImportanceDial.AdapterResult r = dial.writeAdapter(Path.of("out/dial-2-r16"), ImportanceDial.Setting.dial(2.0), 16, Map.of());
 * }</pre>
 */
public final class ImportanceDial {

    /** How much of the μ change each element keeps. */
    public enum Kind { DIAL, UNIFORM }

    /**
     * @param kind  {@link Kind#DIAL} (value = strength s ≥ 0) or {@link Kind#UNIFORM} (value = α, finite)
     * @param value s or α
     */
    public record Setting(Kind kind, double value) {
        public Setting {
            if (kind == null) throw new IllegalArgumentException("a dial setting needs a kind");
            if (kind == Kind.DIAL && !(value >= 0 && Double.isFinite(value))) {
                throw new IllegalArgumentException("--strength must be a finite number >= 0, got " + value);
            }
            if (kind == Kind.UNIFORM && !Double.isFinite(value)) throw new IllegalArgumentException("--uniform must be a finite number, got " + value);
        }

        public static Setting dial(double strength) {
            return new Setting(Kind.DIAL, strength);
        }

        public static Setting uniform(double alpha) {
            return new Setting(Kind.UNIFORM, alpha);
        }

        /** {@code strength=2} or {@code alpha=0.5}: the knob's name as results.json spells it. */
        public String describe() {
            return (kind == Kind.DIAL ? "strength=" : "alpha=") + String.format(Locale.ROOT, "%s", value);
        }
    }

    /** What {@link #writeAdapter} wrote: the rank and the relative error of the approximation, per module and overall. */
    public record AdapterResult(int rank, Map<String, Double> relativeErrors, double relativeError) {
        public AdapterResult {
            relativeErrors = Collections.unmodifiableMap(new LinkedHashMap<>(relativeErrors));
        }
    }

    private final LoraConfig muConfig;
    private final Map<String, INDArray[]> muFactors;
    private final Importance importance;

    private ImportanceDial(LoraConfig muConfig, Map<String, INDArray[]> muFactors, Importance importance) {
        this.muConfig = muConfig;
        this.muFactors = muFactors;
        this.importance = importance;
    }

    /**
     * The dial for a μ adapter (its configuration and factors, e.g. from {@link PeftAdapters}) and the ν phase's
     * importance; both must cover the same modules with the same shapes.
     */
    public static ImportanceDial of(LoraConfig muConfig, Map<String, INDArray[]> muFactors, Importance importance) {
        TreeSet<String> mu = new TreeSet<>(muFactors.keySet());
        TreeSet<String> nu = new TreeSet<>(importance.modules().keySet());
        if (!mu.equals(nu)) {
            TreeSet<String> onlyMu = new TreeSet<>(mu);
            onlyMu.removeAll(nu);
            TreeSet<String> onlyNu = new TreeSet<>(nu);
            onlyNu.removeAll(mu);
            throw new IllegalArgumentException("the adapter and the importance file cover different modules"
                    + (onlyMu.isEmpty() ? "" : "; adapter only: " + onlyMu) + (onlyNu.isEmpty() ? "" : "; importance only: " + onlyNu));
        }
        for (Map.Entry<String, INDArray[]> e : muFactors.entrySet()) {
            Importance.ModuleImportance m = importance.modules().get(e.getKey());
            INDArray a = e.getValue()[0];
            INDArray b = e.getValue()[1];
            if (b.size(0) != m.omega().size(0) || a.size(1) != m.omega().size(1)) {
                throw new IllegalArgumentException("module " + e.getKey() + ": the adapter's delta is [" + b.size(0) + ", " + a.size(1)
                        + "], Omega is [" + m.omega().size(0) + ", " + m.omega().size(1) + "]");
            }
        }
        return new ImportanceDial(muConfig, muFactors, importance);
    }

    /** The modules, in the adapter's order. */
    public List<String> modules() {
        return new ArrayList<>(muFactors.keySet());
    }

    /**
     * Ω̂ of one module: {@code L·λ_l·Ω_l / mean(Ω_l)} (zero where Ω_l is zero everywhere); the mean of Ω̂ over all
     * elements of all modules, each module counted once, is Σ_l λ_l = 1 per module on average.
     */
    public INDArray normalisedImportance(String module) {
        Importance.ModuleImportance m = importance.modules().get(module);
        if (m == null) throw new IllegalArgumentException("no importance for module " + module);
        INDArray omega = m.omega().castTo(DataType.FLOAT);
        double mean = omega.meanNumber().doubleValue();
        double scale = mean > 0 ? importance.modules().size() * m.lambda() / mean : 0;
        return omega.mul(scale);
    }

    /** The part of the μ change a setting takes away from W^μ, {@code [out, in]} float: Δ − kept. */
    public INDArray removed(String module, Setting setting) {
        return removedFrom(change(module), module, setting);
    }

    /**
     * How much of the μ change a setting keeps over all modules, ‖kept‖_F / ‖Δ‖_F (1 at strength 0 or α = 1, and for a
     * zero change).
     */
    public double keptFraction(Setting setting) {
        double kept2 = 0;
        double change2 = 0;
        for (String module : muFactors.keySet()) {
            INDArray change = change(module);
            double c = change.norm2Number().doubleValue();
            change2 += c * c;
            double k = change.subi(removedFrom(change.dup(), module, setting)).norm2Number().doubleValue();   // Δ − removed
            kept2 += k * k;
        }
        return change2 == 0 ? 1.0 : Math.sqrt(kept2 / change2);
    }

    /** Δ = D^μ − D^ν of one module, a new float array. */
    private INDArray change(String module) {
        return muDelta(module).subi(importance.modules().get(module).anchorDelta().castTo(DataType.FLOAT));
    }

    /** The removed part of {@code change} (overwritten with it). */
    private INDArray removedFrom(INDArray change, String module, Setting setting) {
        if (setting.kind() == Kind.UNIFORM) return change.muli(1 - setting.value());
        INDArray f = normalisedImportance(module).muli(setting.value());
        f.divi(f.add(1.0));                                                            // s·Ω̂ / (1 + s·Ω̂)
        return change.muli(f);
    }

    /** The dialled module's delta against the base weight, {@code W − W0 = D^μ − removed}, float {@code [out, in]}. */
    public INDArray delta(String module, Setting setting) {
        return muDelta(module).subi(removed(module, setting));
    }

    /**
     * Writes the dialled model as a Hugging Face checkpoint into {@code outDir} (config and tokenizer files copied).
     *
     * @param dtype storage type of every tensor, or {@code null} to keep each base tensor's own
     */
    public void writeMerged(Path baseDir, Path outDir, Setting setting, DType dtype) {
        try (SafetensorsCheckpoint base = SafetensorsCheckpoint.open(baseDir)) {   // shapes first: nothing is written on a mismatch
            for (Map.Entry<String, INDArray[]> e : muFactors.entrySet()) {
                String name = e.getKey() + ".weight";
                if (!base.contains(name)) throw new IllegalArgumentException("the base model has no tensor '" + name + "'");
                long[] shape = base.info(name).shape();
                if (shape.length != 2 || shape[0] != e.getValue()[1].size(0) || shape[1] != e.getValue()[0].size(1)) {
                    throw new IllegalArgumentException("module " + e.getKey() + ": the base weight is " + java.util.Arrays.toString(shape)
                            + ", the adapter's delta is [" + e.getValue()[1].size(0) + ", " + e.getValue()[0].size(1) + "]");
                }
            }
        }
        double s = muConfig.scaling();
        Map<String, MergedCheckpoints.WeightEdit> edits = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray[]> e : muFactors.entrySet()) {
            INDArray a = e.getValue()[0];
            INDArray b = e.getValue()[1];
            String module = e.getKey();
            edits.put(module + ".weight", w -> {
                Nd4j.gemm(b.castTo(DataType.FLOAT), a.castTo(DataType.FLOAT), w, false, false, s, 1.0);   // as merge does: W0 + D^μ
                w.subi(removed(module, setting));
            });
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("silora.merged_modules", String.join(",", muFactors.keySet()));
        meta.put("silora.lora", "r=" + muConfig.r() + " alpha=" + muConfig.loraAlpha() + " rslora=" + muConfig.useRslora());
        meta.put("silora.dial", setting.describe());
        meta.put("silora.dial_importance", importance.metadata().getOrDefault("base_model", ""));
        MergedCheckpoints.writeEdited(edits, meta, baseDir, outDir, dtype);
    }

    /**
     * Writes a peft adapter of rank {@code rank} (α = rank, so scaling 1) whose delta is the truncated SVD of the
     * dialled delta, and returns the relative error of that approximation (Frobenius, per module and overall).
     */
    public AdapterResult writeAdapter(Path outDir, Setting setting, int rank, Map<String, String> provenance) {
        Map<String, INDArray[]> factors = new LinkedHashMap<>();
        Map<String, Double> errors = new LinkedHashMap<>();
        double norm2 = 0;
        double residual2 = 0;
        for (String module : muFactors.keySet()) {
            LowRank.Factors f = LowRank.truncate(delta(module, setting), rank);
            factors.put(module, new INDArray[]{f.a(), f.b()});
            errors.put(module, f.relativeError());
            norm2 += f.norm() * f.norm();
            residual2 += f.residualNorm() * f.residualNorm();
        }
        double overall = norm2 == 0 ? 0 : Math.sqrt(residual2 / norm2);
        LoraConfig config = muConfig.toBuilder().r(rank).loraAlpha(rank).useRslora(false).build();
        Map<String, String> prov = new LinkedHashMap<>(provenance);
        prov.put("silora.dial", setting.describe());
        prov.put("silora.dial_svd_rank", Integer.toString(rank));
        prov.put("silora.dial_svd_relative_error", Double.toString(overall));
        PeftAdapters.saveFactors(config, factors, outDir, prov);
        return new AdapterResult(rank, errors, overall);
    }

    private INDArray muDelta(String module) {
        INDArray[] ab = muFactors.get(module);
        INDArray d = Nd4j.create(DataType.FLOAT, ab[1].size(0), ab[0].size(1));
        Nd4j.gemm(ab[1].castTo(DataType.FLOAT), ab[0].castTo(DataType.FLOAT), d, false, false, muConfig.scaling(), 0.0);
        return d;
    }
}
