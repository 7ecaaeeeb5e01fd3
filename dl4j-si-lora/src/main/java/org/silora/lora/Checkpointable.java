package org.silora.lora;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * A {@link StepListener} whose accumulators belong in a training checkpoint (SI's ω and Δν start), so that a run
 * killed and resumed ends exactly where an uninterrupted one does.
 */
public interface Checkpointable {

    /** A short, stable name for this listener's entries in the checkpoint file. */
    String checkpointName();

    /** The arrays to save (live views are fine: they are written before the next step). */
    Map<String, INDArray> checkpointState();

    /** Puts saved arrays back (same keys and shapes as {@link #checkpointState()} gave). */
    void restoreCheckpointState(Map<String, INDArray> state);
}
