package org.silora.demo;

import java.util.ArrayList;
import java.util.List;

/**
 * One piece of the demo's work: the base model's evaluation, one seed's phase ν (with the EWC Fisher), or one phase-μ
 * training run with its evaluation. Units of different seeds are independent; within a seed the ν-based methods wait
 * for ν, and the two methods that reuse SI-LoRA's chosen φ wait for SI-LoRA's sweep.
 *
 * <pre>{@code
 * List<Unit> all = Unit.all(DemoPlan.quick());   // base, 3 × nu, 3 × 14 mu runs
 * }</pre>
 *
 * @param model  shipped model
 * @param domain domain
 * @param seed   the seed (ignored for {@code base})
 * @param method {@code base}, {@code nu}, or a phase-μ method of {@link Experiment#METHODS}
 * @param knob   index into the method's grid, -1 when it has none
 */
public record Unit(String model, String domain, long seed, String method, int knob) {

    /** Methods trained in phase μ, one unit each per seed (and per knob value where they have a grid). */
    public static final List<String> MU_METHODS = List.of("lora_mu", "lora_nu_mu", "rslora", "ewc_lora", "si_lora", "replay",
            "si_lora_no_layer", "si_lora_authors", "si_budget", "si_dial", "wise_ft");

    /** Methods of issue 18 that a plan may leave out by giving them an empty grid. */
    public static final List<String> OPTIONAL = List.of("si_budget", "si_dial", "wise_ft");

    /** {@code tiny-llama-medical}. */
    public String tag() {
        return model + "-" + domain;
    }

    /** File-safe identifier: {@code tiny-llama-medical.s2.si_lora.1}. */
    public String id() {
        if (method.equals("base")) return tag() + ".base";
        return tag() + ".s" + seed + "." + method + (knob >= 0 ? "." + knob : "");
    }

    /** Every unit of the plan, in an order that starts the long chains first. */
    public static List<Unit> all(DemoPlan plan) {
        List<Unit> out = new ArrayList<>();
        for (String m : plan.models()) {
            for (String d : plan.domains()) {
                for (long s : plan.seeds()) out.add(new Unit(m, d, s, "nu", -1));
                out.add(new Unit(m, d, 0, "base", -1));
                for (long s : plan.seeds()) {
                    for (String method : MU_METHODS) {
                        int n = grid(plan, method);
                        if (n == 0 && OPTIONAL.contains(method)) continue;   // an empty grid leaves the method out
                        if (n == 0) out.add(new Unit(m, d, s, method, -1));
                        for (int k = 0; k < n; k++) out.add(new Unit(m, d, s, method, k));
                    }
                }
            }
        }
        return out;
    }

    /** Number of knob values of a method (0: none). */
    public static int grid(DemoPlan plan, String method) {
        return switch (method) {
            case "si_lora" -> plan.phiGrid().size();
            case "ewc_lora" -> plan.ewcGrid().size();
            case "replay" -> plan.replayFractions().size();
            case "si_budget" -> plan.budgets().size();
            case "si_dial" -> plan.dialStrengths().size();
            case "wise_ft" -> plan.uniformAlphas().size();
            default -> 0;
        };
    }

    /** Units that must be done before this one. */
    public List<Unit> dependencies(DemoPlan plan) {
        List<Unit> deps = new ArrayList<>();
        Unit nu = new Unit(model, domain, seed, "nu", -1);
        switch (method) {
            case "lora_nu_mu", "ewc_lora" -> deps.add(nu);
            case "si_lora", "si_budget" -> deps.add(nu);
            case "si_dial", "wise_ft" -> {
                deps.add(nu);
                deps.add(new Unit(model, domain, seed, "lora_nu_mu", -1));
            }
            case "si_lora_no_layer", "si_lora_authors" -> {
                deps.add(nu);
                deps.add(new Unit(model, domain, 0, "base", -1));
                deps.add(new Unit(model, domain, seed, "lora_nu_mu", -1));
                for (int k = 0; k < plan.phiGrid().size(); k++) deps.add(new Unit(model, domain, seed, "si_lora", k));
            }
            default -> { }
        }
        return deps;
    }

    /** Rough cost in μ-run equivalents, for the progress bar's ETA. */
    public double cost(DemoPlan plan) {
        return switch (method) {
            case "base", "si_dial", "wise_ft" -> 0.3;
            case "nu" -> 0.8;
            case "lora_mu" -> 1.0 + 0.3 * plan.earlyPoints().size();
            case "replay" -> 1.0 + plan.replayFractions().get(knob) / (1 - plan.replayFractions().get(knob));
            default -> 1.0;
        };
    }
}
