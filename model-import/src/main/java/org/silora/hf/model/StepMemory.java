package org.silora.hf.model;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.autodiff.samediff.internal.SessionMemMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A SameDiff session memory manager for repeated steps of the same shapes (forward passes of {@link CausalLm#output},
 * training steps, Fisher batches): every array a step allocates is handed back to a pool when the step ends and
 * reused by the next step, so a steady evaluation or training loop allocates nothing. It lives beside
 * {@link CausalLm} because the model's own forward passes use it; dl4j-si-lora's training passes use the same class.
 *
 * <p>Why: in M2.1 a gradient session releases only a few percent of its arrays back to the default
 * {@code ArrayCacheMemoryMgr} (measured: ~77 of ~1 500 per step on a d 512 × 8 LLaMA); the rest is left to the
 * garbage collector, so every step allocates (and the kernel zero-fills) gigabytes of fresh off-heap memory. That
 * cost half of a step's time on 2 cores.
 *
 * <p>Contract: arrays a step returns (outputs, gradients) stay valid only until {@link #endStep()}; copy what must
 * live longer. Arrays pooled for a whole step without being reused are freed, so changing shapes (a different
 * sequence length) does not grow the pool without bound.
 *
 * <pre>{@code
 * for (...) {
 *     var og = sd.calculateGradientsAndOutputs(ph, outputs, grads);
 *     ... use og, copying what must outlive the step ...
 *     StepMemory.endStepOf(sd);   // the arrays of this step serve the next one
 * }
 * }</pre>
 */
public final class StepMemory implements SessionMemMgr {

    private record Key(DataType type, List<Long> shape) {
        static Key of(DataType t, long[] shape) {
            List<Long> s = new ArrayList<>(shape.length);
            for (long x : shape) s.add(x);
            return new Key(t, s);
        }
    }

    private final Map<Key, ArrayDeque<INDArray>> pool = new HashMap<>();
    private final Map<INDArray, Key> live = new IdentityHashMap<>();
    private final Map<INDArray, Integer> pooledAt = new IdentityHashMap<>();
    private int generation;
    private long allocated;
    private long reused;
    private long ownedBytes;
    private long peakBytes;
    private long liveBytes;
    private long peakLiveBytes;
    private Map<String, Long> peakLiveShapes = Map.of();
    private long foreignReleases;

    /**
     * Installs a new pool as the memory manager of {@code sd}'s session for the calling thread (creating the
     * session when there is none yet) and returns it; an already installed pool is returned as it is.
     */
    public static StepMemory install(SameDiff sd) {
        long thread = Thread.currentThread().getId();
        InferenceSession s = sd.getSessions().computeIfAbsent(thread, k -> new InferenceSession(sd));
        if (s.getMmgr() instanceof StepMemory m) return m;
        if (s.getMmgr() != null) s.getMmgr().close();
        StepMemory m = new StepMemory();
        s.setMmgr(m);
        return m;
    }

    /**
     * Ends the step of {@code graph}'s gradient session on the calling thread ({@link #endStep()}), installing the
     * pool there first if needed; does nothing before the graph has been differentiated.
     */
    public static void endStepOf(SameDiff graph) {
        SameDiff grad = graph.getFunction("grad");
        if (grad != null) install(grad).endStep();
    }

    @Override
    public INDArray allocate(boolean detached, DataType dataType, long... shape) {
        Key k = Key.of(dataType, shape);
        ArrayDeque<INDArray> q = pool.get(k);
        INDArray a = q == null ? null : q.pollFirst();
        if (a != null) {
            pooledAt.remove(a);
            // a new array object over the same memory, with an id no other array has: the session remembers the ids
            // of arrays it has released and never releases an id twice. (M2.1's assignNewId, which SameDiff's own cache
            // uses, hands out ids that the next new array receives too: the two then share one id, and one of them is
            // never released)
            a = Nd4j.create(a.data(), a.shape(), a.stride(), 0L, a.ordering());
            reused++;
        } else {
            a = Nd4j.createUninitializedDetached(dataType, shape);
            allocated++;
            ownedBytes += bytes(a);
            peakBytes = Math.max(peakBytes, ownedBytes);
        }
        live.put(a, k);
        liveBytes += bytes(a);
        if (liveBytes > peakLiveBytes) {
            peakLiveBytes = liveBytes;
            if (DEBUG) peakLiveShapes = shapes(live);
        }
        return a;
    }

    @Override
    public INDArray allocate(boolean detached, LongShapeDescriptor descriptor) {
        if (descriptor.isEmpty()) return Nd4j.create(descriptor).detach();
        return allocate(detached, descriptor.dataType(), descriptor.getShape());
    }

    @Override
    public INDArray ulike(INDArray arr) {
        return allocate(false, arr.dataType(), arr.shape());
    }

    @Override
    public INDArray dup(INDArray arr) {
        INDArray out = allocate(false, arr.dataType(), arr.shape());
        out.assign(arr);
        return out;
    }

    /** SameDiff is done with {@code arr} within the step: it may be reused at once. Arrays not from here are left alone. */
    @Override
    public void release(INDArray arr) {
        Key k = live.remove(arr);
        if (k != null) {
            liveBytes -= bytes(arr);
            toPool(arr, k);
        } else if (DEBUG) {
            foreignReleases++;
        }
    }

    private void toPool(INDArray a, Key k) {
        pool.computeIfAbsent(k, x -> new ArrayDeque<>()).addLast(a);
        pooledAt.put(a, generation);
    }

    /**
     * Ends a step: every array handed out since the last call goes back to the pool (so nothing from the step may be
     * used after this), and arrays that sat in the pool through the whole step are freed.
     */
    public void endStep() {
        for (Map.Entry<INDArray, Key> e : live.entrySet()) toPool(e.getKey(), e.getValue());
        live.clear();
        liveBytes = 0;
        for (ArrayDeque<INDArray> q : pool.values()) {
            q.removeIf(a -> {
                Integer g = pooledAt.get(a);
                if (g != null && g < generation) {
                    pooledAt.remove(a);
                    free(a);
                    return true;
                }
                return false;
            });
        }
        pool.values().removeIf(ArrayDeque::isEmpty);
        generation++;
    }

    private static long bytes(INDArray a) {
        return a.isEmpty() ? 0 : a.length() * a.dataType().width();
    }

    private void free(INDArray a) {
        ownedBytes -= bytes(a);
        if (a.closeable()) a.close();
    }

    /** Bytes of the arrays this pool owns now: handed out or pooled. */
    public long ownedBytes() {
        return ownedBytes;
    }

    /** The most bytes this pool has owned at once: a step's working set. */
    public long peakBytes() {
        return peakBytes;
    }

    private static final boolean DEBUG = Boolean.getBoolean("silora.stepMemory.debug");

    private static Map<String, Long> shapes(Map<INDArray, Key> arrays) {
        Map<String, Long> m = new HashMap<>();
        for (Map.Entry<INDArray, Key> e : arrays.entrySet()) {
            m.merge(e.getValue().type() + e.getValue().shape().toString(), bytes(e.getKey()), Long::sum);
        }
        return m;
    }

    /** The most bytes handed out at once (in use by the session, not pooled): the least a step needs. */
    public long peakLiveBytes() {
        return peakLiveBytes;
    }

    /** With {@code -Dsilora.stepMemory.debug=true}: the arrays in use at {@link #peakLiveBytes()}, bytes by shape. */
    public Map<String, Long> peakLiveShapes() {
        return peakLiveShapes;
    }

    /** Bytes owned now by element type and shape, largest first: what a step's working set is made of. */
    public java.util.LinkedHashMap<String, Long> bytesByShape() {
        Map<String, Long> m = new HashMap<>();
        for (Map.Entry<Key, ArrayDeque<INDArray>> e : pool.entrySet()) {
            for (INDArray a : e.getValue()) m.merge(e.getKey().type() + e.getKey().shape().toString(), bytes(a), Long::sum);
        }
        for (Map.Entry<INDArray, Key> e : live.entrySet()) {
            m.merge(e.getValue().type() + e.getValue().shape().toString(), bytes(e.getKey()), Long::sum);
        }
        java.util.LinkedHashMap<String, Long> out = new java.util.LinkedHashMap<>();
        m.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** Arrays created so far (pool misses). */
    public long allocated() {
        return allocated;
    }

    /** Allocations served from the pool so far. */
    public long reused() {
        return reused;
    }

    /** Frees everything the pool holds and forgets arrays still handed out (they are left to the garbage collector). */
    @Override
    public void close() {
        for (ArrayDeque<INDArray> q : pool.values()) {
            for (INDArray a : q) free(a);
        }
        pool.clear();
        pooledAt.clear();
        live.clear();
        ownedBytes = 0;
    }

    @Override
    public String toString() {
        int pooled = pool.values().stream().mapToInt(ArrayDeque::size).sum();
        return "StepMemory[allocated=" + allocated + ", reused=" + reused + ", pooled=" + pooled + ", live=" + live.size()
                + (DEBUG ? ", foreign releases=" + foreignReleases : "")
                + ", generation=" + generation + ", shapes=" + Arrays.toString(pool.keySet().stream().limit(3).toArray()) + "]";
    }
}
