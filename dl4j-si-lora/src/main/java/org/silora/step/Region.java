package org.silora.step;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * A contiguous FLOAT array in ND4J's off-heap memory seen two ways: as a {@link FloatBuffer} for the element-wise
 * kernels written in Java, and as a native pointer for BLAS. Wraps an existing array (a weight, a LoRA factor: no
 * copy, updates made through ND4J are seen) or owns one made by {@link #allocate}.
 *
 * <pre>{@code
 * Region w = Region.of(weightT);         // [in, out] c-order FLOAT
 * float x = w.get(i * cols + j);
 * }</pre>
 */
final class Region {

    final INDArray array;
    final FloatBuffer buf;
    final FloatPointer ptr;
    final long length;

    private Region(INDArray array) {
        if (array.dataType() != DataType.FLOAT) throw new IllegalArgumentException("direct step needs FLOAT arrays, got " + array.dataType());
        if (array.ordering() != 'c' || array.elementWiseStride() != 1) {
            throw new IllegalArgumentException("direct step needs contiguous c-order arrays");
        }
        if (array.offset() != 0 || array.data().length() < array.length()) {
            throw new IllegalArgumentException("direct step needs whole arrays, not views");
        }
        this.array = array;
        this.length = array.length();
        if (length > Integer.MAX_VALUE) throw new IllegalArgumentException("array of " + length + " elements is too large for the direct step");
        this.ptr = new FloatPointer(array.data().addressPointer());
        this.buf = array.data().pointer().asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
        if (buf.capacity() < length) {
            throw new IllegalStateException("buffer of " + buf.capacity() + " floats is smaller than the array's " + length);
        }
    }

    static Region of(INDArray array) {
        return new Region(array);
    }

    /** As {@link #of}, copying a view or an array of another layout into a whole c-order FLOAT array first. */
    static Region ofCopyIfNeeded(INDArray array) {
        boolean whole = array.dataType() == DataType.FLOAT && array.ordering() == 'c' && array.elementWiseStride() == 1
                && array.offset() == 0 && array.data().length() >= array.length();
        return new Region(whole ? array : array.castTo(DataType.FLOAT).dup('c'));
    }

    static Region allocate(long... shape) {
        return new Region(Nd4j.createUninitialized(DataType.FLOAT, shape));
    }

    /** A native pointer at element {@code index} of this region. */
    FloatPointer at(long index) {
        return new FloatPointer(ptr).position(index);
    }

    float get(int i) {
        return buf.get(i);
    }

    void set(int i, float v) {
        buf.put(i, v);
    }
}
