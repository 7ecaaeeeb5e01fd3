package org.silora.step;

import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.model.StepMemory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One forward and backward pass of a graph: the requested outputs and the loss gradients of the requested variables,
 * like {@code SameDiff.calculateGradientsAndOutputs}, with the memory behaviour a training loop needs.
 *
 * <p>M2.1's {@code calculateGradientsAndOutputs} switches the gradient function's array cache off on every call
 * ({@code setEnableCache(false)}), and with it the session's release of arrays it no longer needs: every array of a
 * step, forward and backward, stays alive to the step's end (6 GB for 2 × 128 tokens on LLaMA-3.2-1B). This pass
 * runs the same gradient function with release on, and its session on a {@link StepMemory}, so a released array
 * serves a later op of the same step and the step's arrays serve the next step.
 *
 * <pre>{@code
 * OutAndGrad og = GradientPass.run(sd, placeholders, List.of("task_loss"), List.of("q_proj.lora_A.weight"));
 * ... use og, copying what must outlive the step ...
 * StepMemory.endStepOf(sd);
 * }</pre>
 */
public final class GradientPass {

    private GradientPass() {
    }

    /** Outputs and gradients of one pass; arrays are valid until {@link StepMemory#endStepOf(SameDiff)}. */
    public static OutAndGrad run(SameDiff sd, Map<String, INDArray> placeholders, Collection<String> outputs,
                                 Collection<String> gradientsFor) {
        return run(sd, placeholders, outputs, gradientsFor, true);
    }

    /**
     * As {@link #run(SameDiff, Map, Collection, Collection)}; without {@code recycle} it is exactly M2.1's
     * {@code calculateGradientsAndOutputs}: no array is released or reused, so every array of the pass stays valid
     * (and stays allocated until the garbage collector takes it). Releasing into SameDiff's own
     * {@code ArrayCacheMemoryMgr} instead gave wrong gradients from the third step on (measured), which is likely why
     * M2.1 switches it off.
     */
    public static OutAndGrad run(SameDiff sd, Map<String, INDArray> placeholders, Collection<String> outputs,
                                 Collection<String> gradientsFor, boolean recycle) {
        if (sd.getFunction("grad") == null) sd.createGradFunction();
        SameDiff grad = sd.getFunction("grad");
        if (recycle) StepMemory.install(grad);
        grad.setEnableCache(recycle);
        List<String> names = new ArrayList<>(outputs);
        Map<String, String> gradName = new HashMap<>();
        for (String v : gradientsFor) {
            SDVariable g = sd.getVariable(v).getGradient();
            if (g == null) continue;   // the loss does not depend on it
            gradName.put(v, g.name());
            names.add(g.name());
        }
        List<Listener> listeners = new ArrayList<>(sd.getListeners());
        grad.setListeners(listeners);
        Map<String, INDArray> all = grad.output(placeholders, (List<Listener>) null, names.toArray(new String[0]));
        Map<String, INDArray> outs = new HashMap<>();
        for (String o : outputs) outs.put(o, all.get(o));
        Map<String, INDArray> grads = new HashMap<>();
        gradName.forEach((v, g) -> grads.put(v, all.get(g)));
        return new OutAndGrad(outs, grads);
    }
}
