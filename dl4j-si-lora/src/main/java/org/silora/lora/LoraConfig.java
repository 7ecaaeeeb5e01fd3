package org.silora.lora;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * LoRA settings with peft's names and defaults from the paper: {@code r = 8}, {@code lora_alpha = 32},
 * targets {@code q_proj, v_proj}, A kaiming-uniform and B zero. Scaling {@code s = α/r}, or {@code α/√r} with
 * {@code useRslora}.
 *
 * <pre>{@code
 * LoraConfig cfg = LoraConfig.builder().r(8).loraAlpha(32).targetModules("q_proj", "v_proj").build();
 * boolean hit = cfg.matches("model.layers.0.self_attn.q_proj");   // true
 * }</pre>
 *
 * @param r                   rank, &ge; 1
 * @param loraAlpha           α
 * @param loraDropout         dropout on the LoRA path's input while training, in [0, 1)
 * @param targetModules       module-name suffixes as in peft (a name matches when it equals one or ends with
 *                            {@code "." + one}); ignored when {@code targetModulesRegex} is set
 * @param targetModulesRegex  a regex the whole module name must match (peft's string form), or {@code null}
 * @param useRslora           rank-stabilised scaling α/√r
 * @param initLoraWeights     how A is initialised (B is always zero)
 * @param baseModelNameOrPath recorded in {@code adapter_config.json}
 */
public record LoraConfig(int r, double loraAlpha, double loraDropout, List<String> targetModules,
                         String targetModulesRegex, boolean useRslora, InitLoraWeights initLoraWeights,
                         String baseModelNameOrPath) {

    /** peft's {@code init_lora_weights}: {@code true} (kaiming-uniform A, a = √5) or {@code "gaussian"} (A ~ N(0, 1/r)). */
    public enum InitLoraWeights { KAIMING, GAUSSIAN }

    public LoraConfig {
        if (r < 1) throw new IllegalArgumentException("r must be >= 1, got " + r);
        if (!(loraAlpha > 0) || Double.isInfinite(loraAlpha)) throw new IllegalArgumentException("lora_alpha must be positive, got " + loraAlpha);
        if (!(loraDropout >= 0 && loraDropout < 1)) throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + loraDropout);
        targetModules = targetModules == null ? List.of() : List.copyOf(targetModules);
        if (targetModulesRegex == null && targetModules.isEmpty()) throw new IllegalArgumentException("no target modules");
        for (String t : targetModules) {
            if (t == null || t.isBlank()) throw new IllegalArgumentException("empty target module name");
        }
        if (targetModulesRegex != null) {
            try {
                Pattern.compile(targetModulesRegex);
            } catch (java.util.regex.PatternSyntaxException e) {
                // the JDK's message spans three lines (pattern and a caret); keep ours to one
                throw new IllegalArgumentException("target_modules is not a valid regular expression: " + e.getDescription()
                        + " at index " + e.getIndex());
            }
        }
        Objects.requireNonNull(initLoraWeights, "initLoraWeights");
        if (baseModelNameOrPath == null) baseModelNameOrPath = "";
    }

    /**
     * Full match of an adapter's {@code target_modules} regex against a module name, as peft's {@code re.fullmatch},
     * with a bound on the work: the regex comes from a file, and a pattern such as {@code (a+)+$} backtracks
     * exponentially. A name is read at most {@value #REGEX_BUDGET} characters' worth before the regex is refused.
     */
    static boolean matchesWithBudget(String regex, String name) {
        CharSequence bounded = new CharSequence() {
            private long reads;

            @Override
            public int length() {
                return name.length();
            }

            @Override
            public char charAt(int index) {
                if (++reads > REGEX_BUDGET) {
                    throw new IllegalArgumentException("target_modules regex '" + regex + "' takes too long to match '" + name
                            + "' (catastrophic backtracking?)");
                }
                return name.charAt(index);
            }

            @Override
            public CharSequence subSequence(int start, int end) {
                return name.subSequence(start, end);
            }

            @Override
            public String toString() {
                return name;
            }
        };
        return Pattern.compile(regex).matcher(bounded).matches();
    }

    private static final long REGEX_BUDGET = 1_000_000;

    /** The scaling s applied to B·A. */
    public double scaling() {
        return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
    }

    /** Whether the module of this Hugging Face name gets a LoRA (peft's matching rules). */
    public boolean matches(String moduleName) {
        if (targetModulesRegex != null) return matchesWithBudget(targetModulesRegex, moduleName);
        for (String t : targetModules) {
            if (moduleName.equals(t) || moduleName.endsWith("." + t)) return true;
        }
        return false;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder().r(r).loraAlpha(loraAlpha).loraDropout(loraDropout).useRslora(useRslora)
                .initLoraWeights(initLoraWeights).baseModelNameOrPath(baseModelNameOrPath);
        b.targetModules = targetModules;
        b.targetModulesRegex = targetModulesRegex;
        return b;
    }

    /** Builder with the paper's defaults. */
    public static final class Builder {
        private int r = 8;
        private double loraAlpha = 32;
        private double loraDropout = 0.0;
        private List<String> targetModules = List.of("q_proj", "v_proj");
        private String targetModulesRegex;
        private boolean useRslora;
        private InitLoraWeights initLoraWeights = InitLoraWeights.KAIMING;
        private String baseModelNameOrPath = "";

        public Builder r(int r) {
            this.r = r;
            return this;
        }

        public Builder loraAlpha(double loraAlpha) {
            this.loraAlpha = loraAlpha;
            return this;
        }

        public Builder loraDropout(double loraDropout) {
            this.loraDropout = loraDropout;
            return this;
        }

        public Builder targetModules(String... names) {
            this.targetModules = List.of(names);
            this.targetModulesRegex = null;
            return this;
        }

        public Builder targetModules(List<String> names) {
            this.targetModules = List.copyOf(names);
            this.targetModulesRegex = null;
            return this;
        }

        public Builder targetModulesRegex(String regex) {
            this.targetModulesRegex = regex;
            return this;
        }

        public Builder useRslora(boolean useRslora) {
            this.useRslora = useRslora;
            return this;
        }

        public Builder initLoraWeights(InitLoraWeights init) {
            this.initLoraWeights = init;
            return this;
        }

        public Builder baseModelNameOrPath(String base) {
            this.baseModelNameOrPath = base;
            return this;
        }

        public LoraConfig build() {
            return new LoraConfig(r, loraAlpha, loraDropout, targetModules, targetModulesRegex, useRslora,
                    initLoraWeights, baseModelNameOrPath);
        }
    }
}
