package org.silora.hf.graph;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import org.silora.hf.ModelFormatException;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * Where a graph builder takes its base weights from, by Hugging Face tensor name: a safetensors checkpoint, or
 * arrays in memory. Only shapes are asked for first, so a whole checkpoint is validated before anything is read.
 *
 * <pre>{@code
 * Weights w = Weights.of(Map.of("lm_head.weight", Nd4j.rand(DataType.FLOAT, 100, 16)));
 * INDArray wT = w.read("lm_head.weight", DataType.BFLOAT16, true);   // [16, 100], 16-bit
 * }</pre>
 */
public interface Weights {

    /** The tensor's shape, or {@code null} when there is no such tensor. */
    long[] shape(String name);

    /**
     * The tensor as a new c-order array of element type {@code type} (FLOAT, HALF or BFLOAT16), or, with
     * {@code transposed}, a rank-2 tensor {@code [R, C]} as {@code [C, R]}. Implementations make no other full copy
     * of the tensor on the way.
     */
    INDArray read(String name, DataType type, boolean transposed);

    /** The tensor as a new FLOAT array of its own shape. */
    default INDArray read(String name) {
        return read(name, DataType.FLOAT, false);
    }

    Set<String> names();

    /**
     * Checks that every tensor of {@code expected} is here with its shape, before anything is read; a one-line
     * {@link ModelFormatException} naming the first that is missing or misshapen otherwise.
     *
     * <pre>{@code
     * weights.require(new LlamaGraph(cfg).tensorShapes(), cfg.architecture());
     * }</pre>
     */
    default void require(Map<String, long[]> expected, String architecture) {
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            long[] actual = shape(e.getKey());
            if (actual == null) {
                throw new ModelFormatException("missing tensor '" + e.getKey() + "' required by " + architecture);
            }
            if (!Arrays.equals(actual, e.getValue())) {
                throw new ModelFormatException("tensor '" + e.getKey() + "' has shape " + Arrays.toString(actual)
                        + ", config.json implies " + Arrays.toString(e.getValue()));
            }
        }
    }

    /** Weights held in memory, e.g. built by a test. */
    static Weights of(Map<String, INDArray> arrays) {
        return new Weights() {
            @Override
            public long[] shape(String name) {
                INDArray a = arrays.get(name);
                return a == null ? null : a.shape();
            }

            @Override
            public INDArray read(String name, DataType type, boolean transposed) {
                INDArray a = arrays.get(name);
                if (transposed) a = a.transpose();
                return a.castTo(type).dup('c');
            }

            @Override
            public Set<String> names() {
                return arrays.keySet();
            }
        };
    }
}
