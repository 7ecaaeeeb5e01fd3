package org.silora.lora;

/**
 * Optimiser and loop settings, defaults from the paper: Adam, lr 8e-4, batch 20, 5 epochs.
 *
 * <pre>{@code
 * TrainingOptions opts = TrainingOptions.builder().learningRate(8e-4).batchSize(20).epochs(5).seed(42).build();
 * }</pre>
 *
 * @param learningRate         Adam's step size η
 * @param batchSize            rows per micro-batch
 * @param gradientAccumulation micro-batches summed (averaged) into one optimizer step
 * @param epochs               passes over the data
 * @param weightDecay          decoupled (AdamW) weight decay on A and B; 0 for plain Adam
 * @param seed                 fixes the data order (and nothing else: A's init has its own seed)
 * @param skipNonFinite        skip a step whose loss or gradients hold NaN/Inf instead of stopping the run
 * @param recycleArrays        reuse SameDiff's arrays from one step to the next ({@code StepMemory}); off only for a
 *                             listener that keeps references to a step's activations beyond the step
 * @param engine               what computes a step's loss and gradients ({@link Engine#AUTO}: the direct step where it
 *                             applies)
 */
public record TrainingOptions(double learningRate, int batchSize, int gradientAccumulation, int epochs,
                              double weightDecay, long seed, boolean skipNonFinite, boolean recycleArrays, Engine engine) {

    /** What computes a training step's loss and gradients. */
    public enum Engine {
        /** {@link #DIRECT} for LoRA training of LLaMA and GPT-J models in FLOAT on the CPU backend, {@link #SAMEDIFF} otherwise. */
        AUTO,
        /** The hand-written pass of the family ({@code org.silora.step.DirectStep}); refused where it does not apply. */
        DIRECT,
        /** SameDiff's gradient pass over the model's graph: every family, pretraining, any listener's activations. */
        SAMEDIFF
    }

    public TrainingOptions {
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (gradientAccumulation < 1) throw new IllegalArgumentException("gradient accumulation must be >= 1, got " + gradientAccumulation);
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        if (engine == null) throw new IllegalArgumentException("engine is missing");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builder with the paper's defaults. */
    public static final class Builder {
        private double learningRate = 8e-4;
        private int batchSize = 20;
        private int gradientAccumulation = 1;
        private int epochs = 5;
        private double weightDecay = 0;
        private long seed = 42;
        private boolean skipNonFinite;
        private boolean recycleArrays = true;
        private Engine engine = Engine.AUTO;

        public Builder learningRate(double v) {
            learningRate = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder gradientAccumulation(int v) {
            gradientAccumulation = v;
            return this;
        }

        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder skipNonFinite(boolean v) {
            skipNonFinite = v;
            return this;
        }

        public Builder recycleArrays(boolean v) {
            recycleArrays = v;
            return this;
        }

        public Builder engine(Engine v) {
            engine = v;
            return this;
        }

        public TrainingOptions build() {
            return new TrainingOptions(learningRate, batchSize, gradientAccumulation, epochs, weightDecay, seed, skipNonFinite,
                    recycleArrays, engine);
        }
    }
}
