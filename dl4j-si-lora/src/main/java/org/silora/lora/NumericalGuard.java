package org.silora.lora;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * Checks for NaN and infinity, one place for the trainer, the SI recorder and every writer.
 *
 * <pre>{@code
 * NumericalGuard.requireFinite(omega, "omega of model.layers.0.self_attn.q_proj");
 * }</pre>
 */
public final class NumericalGuard {

    private NumericalGuard() {
    }

    /** Number of NaN or infinite elements. */
    public static long nonFinite(INDArray a) {
        if (a == null || a.isEmpty()) return 0;
        long nan = Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition(a,
                org.nd4j.linalg.indexing.conditions.Conditions.isNan())).getLong(0);
        long inf = Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition(a,
                org.nd4j.linalg.indexing.conditions.Conditions.isInfinite())).getLong(0);
        return nan + inf;
    }

    /** Throws {@link NonFiniteException} naming {@code what} when {@code a} holds a NaN or an infinity. */
    public static void requireFinite(INDArray a, String what) {
        long n = nonFinite(a);
        if (n > 0) throw new NonFiniteException(what + " has " + n + " NaN/Inf values");
    }

    /** The first array of {@code arrays} holding a NaN or an infinity, or {@code null}. */
    public static String firstNonFinite(Map<String, INDArray> arrays) {
        for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
            if (nonFinite(e.getValue()) > 0) return e.getKey();
        }
        return null;
    }
}
