package org.silora.lora;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.LinearFactory;
import org.silora.hf.graph.LinearModule;
import org.silora.hf.graph.Weights;
import org.silora.hf.model.CausalLm;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An imported causal LM with LoRA on the modules its {@link LoraConfig} targets: each computes
 * {@code x·W0ᵀ + s·(x·Aᵀ)·Bᵀ}. Base weights are graph constants; A and B are the only trainable variables.
 *
 * <pre>{@code
 * LoraModel model = LoraModel.create(Path.of("models/tiny-llama"), LoraConfig.builder().build(), 42);
 * new LoraTrainer(model, TrainingOptions.builder().build()).train(batches);
 * PeftAdapters.save(model, Path.of("out/adapter"));
 * }</pre>
 */
public final class LoraModel {

    private final LoraConfig config;
    private final CausalLm lm;
    private final Map<String, LoraModule> modules;

    private LoraModel(LoraConfig config, CausalLm lm, Map<String, LoraModule> modules) {
        this.config = config;
        this.lm = lm;
        this.modules = Collections.unmodifiableMap(modules);
        if (modules.isEmpty()) {
            throw new IllegalArgumentException("target_modules " + (config.targetModulesRegex() != null
                    ? config.targetModulesRegex() : config.targetModules()) + " match no linear module of the model");
        }
    }

    /** A fresh adapter (A initialised, B = 0) on the model in {@code baseDir}; {@code seed} fixes A. */
    public static LoraModel create(Path baseDir, LoraConfig config, long seed) {
        Injector inj = new Injector(config, seed, null);
        return new LoraModel(config, CausalLm.load(baseDir, inj), inj.modules);
    }

    /** As {@link #create(Path, LoraConfig, long)} over weights already in memory. */
    public static LoraModel create(ModelConfig modelConfig, Weights weights, LoraConfig config, long seed) {
        Injector inj = new Injector(config, seed, null);
        return new LoraModel(config, CausalLm.build(modelConfig, weights, inj), inj.modules);
    }

    /**
     * The model with given A and B per module name (e.g. read from an adapter); every targeted module must
     * have them, with shapes {@code [r, in]} and {@code [out, r]}.
     */
    public static LoraModel withFactors(Path baseDir, LoraConfig config, Map<String, INDArray[]> factors) {
        return withFactors(baseDir, config, factors, DataType.FLOAT);
    }

    /**
     * As {@link #withFactors(Path, LoraConfig, Map)}, the base weights held as {@code storage} (FLOAT; HALF or
     * BFLOAT16 for inference only: {@link LoraTrainer} refuses to train such a model).
     */
    public static LoraModel withFactors(Path baseDir, LoraConfig config, Map<String, INDArray[]> factors, DataType storage) {
        Injector inj = new Injector(config, 0, factors);
        LoraModel m = new LoraModel(config, CausalLm.load(baseDir, inj, storage), inj.modules);
        inj.checkAllUsed();
        return m;
    }

    /** As {@link #withFactors(Path, LoraConfig, Map)} over weights already in memory. */
    public static LoraModel withFactors(ModelConfig modelConfig, Weights weights, LoraConfig config,
                                        Map<String, INDArray[]> factors) {
        Injector inj = new Injector(config, 0, factors);
        LoraModel m = new LoraModel(config, CausalLm.build(modelConfig, weights, inj), inj.modules);
        inj.checkAllUsed();
        return m;
    }

    public LoraConfig config() {
        return config;
    }

    public CausalLm lm() {
        return lm;
    }

    public SameDiff sameDiff() {
        return lm.sameDiff();
    }

    /** The LoRA modules by Hugging Face module name, in graph order. */
    public Map<String, LoraModule> modules() {
        return modules;
    }

    /** Builds LoRA modules as the graph builder meets each linear module. */
    private static final class Injector implements LinearFactory {
        private final LoraConfig config;
        private final java.util.Random rng;
        private final Map<String, INDArray[]> given;
        private final Map<String, LoraModule> modules = new LinkedHashMap<>();

        Injector(LoraConfig config, long seed, Map<String, INDArray[]> given) {
            this.config = config;
            this.given = given;
            this.rng = new java.util.Random(seed);
        }

        @Override
        public SDVariable apply(LinearModule m, SDVariable x) {
            if (!config.matches(m.name())) return m.applyBase(x);
            SameDiff sd = x.getSameDiff();
            int r = config.r();
            INDArray a;
            INDArray b;
            if (given != null) {
                INDArray[] ab = given.get(m.name());
                if (ab == null) throw new IllegalArgumentException("adapter has no lora_A/lora_B for targeted module " + m.name());
                a = checkShape(ab[0], m.name() + ".lora_A.weight", r, m.in());
                b = checkShape(ab[1], m.name() + ".lora_B.weight", m.out(), r);
            } else {
                a = initA(r, m.in());
                b = Nd4j.zeros(DataType.FLOAT, m.out(), r);
            }
            SDVariable va = sd.var(m.name() + ".lora_A.weight", a);
            SDVariable vb = sd.var(m.name() + ".lora_B.weight", b);
            double s = config.scaling();
            // s·(x·Aᵀ)·Bᵀ, scaled at rank r: one [tokens, out] array fewer than scaling the product
            SDVariable low = sd.mmul(sd.mmul(x, va, false, true, false).mul(s), vb, false, true, false);
            SDVariable y = m.applyBase(x).add(m.name() + "/lora", low);
            modules.put(m.name(), new LoraModule(m, va, vb, s, x, y));
            return y;
        }

        private INDArray initA(int r, int in) {
            float[] v = new float[r * in];
            if (config.initLoraWeights() == LoraConfig.InitLoraWeights.GAUSSIAN) {
                for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextGaussian() / r);
            } else {
                // kaiming_uniform_(a = sqrt(5)): bound = sqrt(2 / (1 + 5)) * sqrt(3 / fan_in) = 1 / sqrt(fan_in)
                double bound = 1.0 / Math.sqrt(in);
                for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
            }
            return Nd4j.create(v, new long[]{r, in}, 'c');
        }

        private static INDArray checkShape(INDArray arr, String name, long rows, long cols) {
            if (arr.rank() != 2 || arr.size(0) != rows || arr.size(1) != cols) {
                throw new IllegalArgumentException("adapter tensor " + name + " has shape " + java.util.Arrays.toString(arr.shape())
                        + ", the base model needs [" + rows + ", " + cols + "]");
            }
            return arr.castTo(DataType.FLOAT).dup('c');
        }

        void checkAllUsed() {
            for (String name : given.keySet()) {
                if (!modules.containsKey(name)) {
                    throw new IllegalArgumentException("adapter has weights for module '" + name
                            + "', which the base model lacks or target_modules does not name");
                }
            }
        }
    }
}
