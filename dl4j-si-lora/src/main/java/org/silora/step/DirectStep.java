package org.silora.step;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.graph.CausalLmGraph;

import java.util.Map;

/**
 * One LoRA training pass of a causal LM written out by hand, forward and backward, beside SameDiff's gradient pass
 * over the model's graph: the summed next-token loss and the gradient of every LoRA factor. It reads the graph's own
 * arrays (frozen weights, norms, and the LoRA factors the optimizer updates in place), and its results equal the
 * graph's within float rounding ({@code DirectStepTest}). One class per family, each reading top to bottom next to
 * Hugging Face's modeling file: {@link DirectLlamaStep}, {@link DirectGptjStep}.
 *
 * <p>Why: SameDiff's pass over a d 512 × 8 LLaMA spends half its time outside matrix products (broadcast backward
 * kernels, per-op dispatch and bookkeeping, batched attention products at 40 GFLOP/s). Here every product is an
 * OpenBLAS call split over the step's threads ({@link Gemm}), attention reads its operands in place with causal
 * blocks ({@link Attention}), element-wise work is fused per row ({@link Kernels}), nothing is computed that no LoRA
 * factor needs (no layer below the lowest adapted one, no input gradient there), and working arrays are allocated once
 * ({@link StepRuntime}). CPU backend only.
 *
 * <pre>{@code
 * try (DirectStep step = DirectStep.of(lm.graph(), Map.of(name, new DirectStep.Lora(a, b, 4.0)), 2)) {
 *     DirectStep.Result r = step.run(ids, lengths, labels, false);
 *     double meanLoss = r.nllSum() / r.tokens();
 * }
 * }</pre>
 */
public interface DirectStep extends AutoCloseable {

    /** The LoRA factors of one module: {@code A [r, in]}, {@code B [out, r]}, scaling s (arrays are read, not copied). */
    record Lora(INDArray a, INDArray b, double scaling) {
        public Lora {
            if (a == null || b == null) throw new IllegalArgumentException("LoRA factors are missing");
        }
    }

    /**
     * One pass's result: the NLL summed over labelled tokens and their count; the gradients of that sum for every
     * adapted module's A and B (this step's arrays: copy what you keep past the next call); with
     * {@code keepModuleTensors}, each adapted module's input {@code x [B·T, in]} and output gradient
     * {@code δ [B·T, out]} (new arrays; padded positions included, δ = 0 there).
     */
    record Result(double nllSum, double tokens, Map<String, INDArray> gradA, Map<String, INDArray> gradB,
                  Map<String, INDArray> moduleInputs, Map<String, INDArray> moduleOutputGrads) {
    }

    /** True when a direct step can train the graph's model: LLaMA or GPT-J, FLOAT weights, ND4J's CPU backend. */
    static boolean supports(CausalLmGraph graph) {
        return (graph.config() instanceof LlamaConfig || graph.config() instanceof GptjConfig)
                && graph.storage() == DataType.FLOAT && cpuBackend();
    }

    /** True on ND4J's CPU backend, whose OpenBLAS the direct step calls. */
    static boolean cpuBackend() {
        return Nd4j.getBackend().getClass().getSimpleName().equals("CpuBackend");
    }

    /** The direct step of the graph's family; {@code lora}: factors by module name (at least one). */
    static DirectStep of(CausalLmGraph graph, Map<String, Lora> lora, int threads) {
        if (!supports(graph)) {
            throw new IllegalArgumentException("the direct step trains LLaMA and GPT-J models with FLOAT weights on the CPU backend, not "
                    + graph.config().architecture() + " in " + graph.storage());
        }
        if (graph.config() instanceof LlamaConfig) return new DirectLlamaStep(graph, lora, threads);
        return new DirectGptjStep(graph, lora, threads);
    }

    /**
     * Forward and backward over one batch.
     *
     * @param ids               {@code [B][T]} token ids, rows right-padded to {@code T}
     * @param lengths           real tokens of each row (positions at or beyond are padding)
     * @param labels            {@code [B][T]} next-token labels; counted where {@code position < length}
     * @param keepModuleTensors also return each adapted module's input and output gradient
     */
    Result run(int[][] ids, int[] lengths, int[][] labels, boolean keepModuleTensors);

    /** Threads this step uses. */
    int threads();

    /** Bytes of this step's working arrays now (they stay allocated between passes). */
    long workingBytes();

    /** Releases the working arrays (the next pass allocates them again). */
    void releaseWorkingMemory();

    /** Starts (or stops) timing each phase of a pass: products, attention, norms, activations, rotary, loss. */
    void profile(boolean on);

    /** Seconds and calls per phase since {@link #profile(boolean)}, in order of first use. */
    Map<String, double[]> phases();

    @Override
    void close();
}
