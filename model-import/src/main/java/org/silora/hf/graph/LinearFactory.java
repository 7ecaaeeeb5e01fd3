package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * How the graph builder turns each named linear module into ops. The default applies the frozen base weight;
 * LoRA supplies a factory that adds its low-rank path to the modules it targets.
 *
 * <pre>{@code
 * LinearFactory lora = (module, x) -> module.name().endsWith("q_proj")
 *         ? module.applyBase(x).add(myLowRankPath(module, x))
 *         : module.applyBase(x);
 * CausalLm lm = CausalLm.load(dir, lora);
 * }</pre>
 */
@FunctionalInterface
public interface LinearFactory {

    /** The frozen module as it is. */
    LinearFactory BASE = (module, x) -> module.applyBase(x);

    /**
     * @param module the module, with its frozen weight
     * @param x      its input, {@code [tokens, in]}
     * @return its output, {@code [tokens, out]}
     */
    SDVariable apply(LinearModule module, SDVariable x);
}
