package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.silora.hf.config.ModelConfig;

import java.util.Map;

/**
 * A built causal-LM graph: token ids in, logits {@code [B, T, vocab]} out, and its named linear modules.
 *
 * @param config   the model's configuration
 * @param sd       the graph; base weights are constants
 * @param inputIds placeholder {@code [B, T]}
 * @param logits   output {@code [B, T, vocab]}
 * @param linears  every linear module by Hugging Face name, e.g. {@code model.layers.0.self_attn.q_proj}
 * @param rotary   the rotary embedding the placeholders must be filled with
 */
public record CausalLmGraph(ModelConfig config, SameDiff sd, SDVariable inputIds, SDVariable logits,
                            Map<String, LinearModule> linears, Rotary rotary) {
}
