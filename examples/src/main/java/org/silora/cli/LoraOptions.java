package org.silora.cli;

import org.silora.lora.LoraConfig;
import picocli.CommandLine.Option;

import java.util.List;

/** LoRA options with peft's names; defaults from the paper. */
final class LoraOptions {

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default ${DEFAULT-VALUE})")
    int r;

    @Option(names = "--lora-alpha", defaultValue = "32", description = "LoRA alpha (default ${DEFAULT-VALUE})")
    double loraAlpha;

    @Option(names = "--target-modules", split = ",", defaultValue = "q_proj,v_proj",
            description = "module-name suffixes to adapt (default ${DEFAULT-VALUE}); one value with regex characters is a regex")
    List<String> targetModules;

    @Option(names = "--use-rslora", description = "rank-stabilised scaling alpha/sqrt(r)")
    boolean useRslora;

    @Option(names = "--init-lora-weights", defaultValue = "kaiming", description = "kaiming (peft's default) or gaussian")
    String init;

    LoraConfig config(String baseModel, boolean forceRslora) {
        LoraConfig.Builder b = LoraConfig.builder().r(r).loraAlpha(loraAlpha).useRslora(useRslora || forceRslora)
                .baseModelNameOrPath(baseModel);
        if (targetModules.size() == 1 && targetModules.get(0).matches(".*[\\\\*+?\\[\\](){}|^$].*")) {
            b.targetModulesRegex(targetModules.get(0));
        } else {
            b.targetModules(targetModules);
        }
        b.initLoraWeights(switch (init.toLowerCase(java.util.Locale.ROOT)) {
            case "kaiming", "true" -> LoraConfig.InitLoraWeights.KAIMING;
            case "gaussian" -> LoraConfig.InitLoraWeights.GAUSSIAN;
            default -> throw new IllegalArgumentException("--init-lora-weights must be kaiming or gaussian, got " + init);
        });
        return b.build();
    }
}
