package org.silora.hf.graph;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.ModelConfig;

import java.util.Map;
import java.util.Set;

/**
 * A built causal-LM graph: token ids in, logits {@code [B, T, vocab]} out, and its named linear modules.
 *
 * @param config     the model's configuration
 * @param sd         the graph; base weights are constants
 * @param inputIds   placeholder {@code [B, T]}
 * @param logits     output {@code [B, T, vocab]}
 * @param flatLogits the same logits as {@code [B·T, vocab]} (what a loss reads, without a reshaped copy)
 * @param linears    every linear module by Hugging Face name, e.g. {@code model.layers.0.self_attn.q_proj}
 * @param rotary     the rotary embedding the placeholders must be filled with
 * @param storage    element type of the base weights in memory (FLOAT, HALF or BFLOAT16)
 * @param transposed the checkpoint tensors held transposed ({@code [in, out]}): every linear weight
 */
public record CausalLmGraph(ModelConfig config, SameDiff sd, SDVariable inputIds, SDVariable logits,
                            SDVariable flatLogits, Map<String, LinearModule> linears, Rotary rotary, DataType storage,
                            Set<String> transposed) {

    /**
     * The base tensor of checkpoint name {@code name} in the checkpoint's orientation, FLOAT: a view where the graph
     * holds it as FLOAT (e.g. to save pretrained weights).
     */
    public INDArray hfTensor(String name) {
        INDArray a = sd.getArrForVarName(name);
        if (a == null) throw new IllegalArgumentException("the graph holds no tensor '" + name + "'");
        if (transposed.contains(name)) a = a.transpose();
        return a.dataType() == DataType.FLOAT ? a : a.castTo(DataType.FLOAT);
    }
}
