package org.silora.hf.safetensors;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Moves one tensor's bytes from a safetensors file into an ND4J array of a chosen element type (FLOAT, HALF or
 * BFLOAT16) and layout (as stored, or a 2-D tensor transposed), block by block with positional reads.
 *
 * <p>Why not a memory map: pages of a mapped file count in the process's resident set until the mapping is
 * garbage-collected, so importing a 2.5 GB checkpoint held 2.5 GB of file pages next to the converted weights.
 * Positional reads go through the page cache, which the kernel may drop, and hold at most one block (16 MB) of
 * staging memory, freed when the tensor is read. When the file already holds the target type and layout, the bytes
 * are read straight into the array's memory.
 */
final class TensorReader {
    /** Elements per block. */
    static final int BLOCK = 1 << 20;
    /**
     * Source rows per block when transposing: each target row receives this many elements per write, and a block's
     * column is gathered from this many rows (few enough for their pages to stay in the TLB).
     */
    static final int TRANSPOSE_ROWS = 256;
    /** Side of the square tiles a block is transposed in (measured: 16 beats 8 and 32; reading rows inside a tile
     * beats reading columns, whose power-of-two strides collide in the cache). */
    private static final int TILE = 16;

    private TensorReader() {
    }

    /** True for the element types a tensor can be read into. */
    static boolean readable(DataType type) {
        return type == DataType.FLOAT || type == DataType.HALF || type == DataType.BFLOAT16;
    }

    /** The safetensors dtype with the same bits as {@code type}. */
    static DType dtypeOf(DataType type) {
        return switch (type) {
            case FLOAT -> DType.F32;
            case HALF -> DType.F16;
            case BFLOAT16 -> DType.BF16;
            default -> throw new IllegalArgumentException("cannot read a tensor into " + type
                    + " (FLOAT, HALF or BFLOAT16)");
        };
    }

    /**
     * Reads {@code t} (data at {@code dataStart + t.begin()}) into {@code target}, a plain c-order array of
     * {@code t.numel()} elements of a {@link #readable} type; {@code transposed}: {@code t} is {@code [R, C]} and the
     * target receives it as {@code [C, R]}.
     */
    static void read(FileChannel ch, long dataStart, TensorInfo t, INDArray target, boolean transposed,
                     Buffers buffers) throws IOException {
        DType to = dtypeOf(target.dataType());
        long n = t.numel();
        if (n == 0) return;
        Pointer base = target.data().addressPointer();
        long pos = dataStart + t.begin();
        int from = t.dtype().byteSize();
        if (!transposed && t.dtype() == to) {
            readRaw(ch, pos, base, n * from);
            return;
        }
        long rows = transposed ? t.shape()[0] : 1;
        long cols = transposed ? t.shape()[1] : n;
        if (transposed && (rows > Integer.MAX_VALUE || cols > BLOCK)) {
            throw new IllegalArgumentException("tensor " + Text.quote(t.name()) + " is too wide to transpose");
        }
        // transposed: K whole rows per block; otherwise one long row cut into blocks
        int k = transposed ? (int) Math.max(1, Math.min(Math.min(rows, TRANSPOSE_ROWS), BLOCK / cols)) : 1;
        int perBlock = transposed ? (int) (k * cols) : (int) Math.min(n, BLOCK);
        Block block = buffers.take(t.dtype(), to, perBlock, transposed ? k : 0);
        try {
            ByteBuffer buf = block.stage.order(ByteOrder.LITTLE_ENDIAN);
            for (long done = 0; done < n; ) {
                int count = (int) Math.min(perBlock, n - done);
                buf.clear().limit(count * from);
                readFully(ch, buf, pos + done * from);
                buf.flip();
                block.decode(buf, count);
                if (transposed) {
                    block.writeColumns(base, done / cols, count / (int) cols, (int) cols, rows);
                } else {
                    block.writeAt(base, done, count);
                }
                done += count;
            }
        } finally {
            buffers.give(block);
        }
    }

    private static void readRaw(FileChannel ch, long pos, Pointer base, long bytes) throws IOException {
        long window = 1L << 30;
        for (long off = 0; off < bytes; off += window) {
            long len = Math.min(window, bytes - off);
            BytePointer p = new BytePointer(base);   // a view of the address; owns nothing
            p.position(base.position() + off).limit(base.position() + off + len);
            readFully(ch, p.asBuffer(), pos + off);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        long p = pos;
        while (dst.hasRemaining()) {
            int r = ch.read(dst, p);
            if (r < 0) throw new EOFException("unexpected end of file at offset " + p);
            p += r;
        }
    }

    /**
     * Reusable block buffers of one reader (a file, or a checkpoint's files): a tensor read takes a block and gives it
     * back, so reading a checkpoint allocates one block's memory, not one per tensor. Safe for concurrent reads (each
     * takes its own block); freed with {@link #close()}.
     */
    static final class Buffers implements AutoCloseable {
        private final java.util.ArrayDeque<Block> free = new java.util.ArrayDeque<>();

        synchronized Block take(DType from, DType to, int size, int colLength) {
            Block b = free.pollFirst();
            if (b == null) b = new Block();
            b.prepare(from, to, size, colLength);
            return b;
        }

        synchronized void give(Block b) {
            free.addFirst(b);
        }

        @Override
        public synchronized void close() {
            for (Block b : free) b.release();
            free.clear();
        }
    }

    /** One block of elements decoded into the target's representation (floats, or 16-bit patterns). */
    static final class Block {
        private DType from;
        private DType to;
        private BytePointer stageMemory;
        ByteBuffer stage;
        private float[] f = new float[0];
        private short[] s = new short[0];
        private float[] fcol = new float[0];
        private short[] scol = new short[0];

        void prepare(DType from, DType to, int size, int colLength) {
            this.from = from;
            this.to = to;
            long bytes = (long) size * from.byteSize();
            if (stageMemory == null || stageMemory.capacity() < bytes) {
                release();
                stageMemory = new BytePointer(Math.max(bytes, (long) BLOCK * 4));
            }
            stage = stageMemory.position(0).limit(bytes).asBuffer();
            if (f.length < size) f = new float[Math.max(size, BLOCK)];
            if (s.length < size) s = new short[Math.max(size, BLOCK)];
            if (colLength > 0 && to == DType.F32 && fcol.length < size) fcol = new float[Math.max(size, BLOCK)];
            if (colLength > 0 && to != DType.F32 && scol.length < size) scol = new short[Math.max(size, BLOCK)];
        }

        void release() {
            if (stageMemory != null) stageMemory.close();
            stageMemory = null;
        }

        void decode(ByteBuffer src, int count) {
            if (from == DType.F32) {
                src.asFloatBuffer().get(f, 0, count);
            } else {
                src.asShortBuffer().get(s, 0, count);
                if (from == to) return;
                boolean half = from == DType.F16;
                for (int i = 0; i < count; i++) f[i] = half ? Convert.halfToFloat(s[i]) : Convert.bf16ToFloat(s[i]);
            }
            if (to == DType.F32) return;
            boolean half = to == DType.F16;
            for (int i = 0; i < count; i++) s[i] = half ? Convert.floatToHalf(f[i]) : Convert.floatToBf16(f[i]);
        }

        /** Elements {@code [at, at + count)} of the target, in order. */
        void writeAt(Pointer base, long at, int count) {
            if (to == DType.F32) {
                new FloatPointer(base).position(base.position() / 4 + at).put(f, 0, count);
            } else {
                new ShortPointer(base).position(base.position() / 2 + at).put(s, 0, count);
            }
        }

        /**
         * The block holds source rows {@code [row0, row0 + k)} of {@code cols} elements; target row {@code c} (source
         * column c) of length {@code rows} receives them at {@code [row0, row0 + k)}.
         */
        void writeColumns(Pointer base, long row0, int k, int cols, long rows) {
            // transpose the k × cols block in cache-sized tiles into column-major order, then one write per column
            if (to == DType.F32) {
                for (int r0 = 0; r0 < k; r0 += TILE) {
                    int r1 = Math.min(k, r0 + TILE);
                    for (int c0 = 0; c0 < cols; c0 += TILE) {
                        int c1 = Math.min(cols, c0 + TILE);
                        for (int r = r0; r < r1; r++) {
                            int in = r * cols;
                            for (int c = c0; c < c1; c++) fcol[c * k + r] = f[in + c];
                        }
                    }
                }
                FloatPointer p = new FloatPointer(base);
                long first = base.position() / 4;
                for (int c = 0; c < cols; c++) p.position(first + c * rows + row0).put(fcol, c * k, k);
            } else {
                for (int r0 = 0; r0 < k; r0 += TILE) {
                    int r1 = Math.min(k, r0 + TILE);
                    for (int c0 = 0; c0 < cols; c0 += TILE) {
                        int c1 = Math.min(cols, c0 + TILE);
                        for (int r = r0; r < r1; r++) {
                            int in = r * cols;
                            for (int c = c0; c < c1; c++) scol[c * k + r] = s[in + c];
                        }
                    }
                }
                ShortPointer p = new ShortPointer(base);
                long first = base.position() / 2;
                for (int c = 0; c < cols; c++) p.position(first + c * rows + row0).put(scol, c * k, k);
            }
        }
    }
}
