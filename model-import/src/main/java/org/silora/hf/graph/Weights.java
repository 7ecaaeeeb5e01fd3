package org.silora.hf.graph;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;
import java.util.Set;

/**
 * Where a graph builder takes its base weights from, by Hugging Face tensor name: a safetensors checkpoint, or
 * arrays in memory. Only shapes are asked for first, so a whole checkpoint is validated before anything is read.
 */
public interface Weights {

    /** The tensor's shape, or {@code null} when there is no such tensor. */
    long[] shape(String name);

    /** The tensor as a new FLOAT array. */
    INDArray read(String name);

    Set<String> names();

    /** Weights held in memory, e.g. built by a test. */
    static Weights of(Map<String, INDArray> arrays) {
        return new Weights() {
            @Override
            public long[] shape(String name) {
                INDArray a = arrays.get(name);
                return a == null ? null : a.shape();
            }

            @Override
            public INDArray read(String name) {
                return arrays.get(name).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c');
            }

            @Override
            public Set<String> names() {
                return arrays.keySet();
            }
        };
    }
}
