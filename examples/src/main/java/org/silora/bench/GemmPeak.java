package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ND4J's sgemm peak in this run ({@code gemm}, {@code gemm_gflops}): the denominator of every MFU the bench
 * reports, so MFU compares the code with this machine's own matrix product rather than a datasheet.
 *
 * <pre>{@code
 * GemmPeak g = GemmPeak.measure();
 * double mfu = flopsPerStep / stepSeconds / (g.peak() * 1e9);
 * }</pre>
 *
 * @param gflops GFLOP/s of the fastest of the timed products, per square size n ({@code 2 n³} FLOPs each)
 */
record GemmPeak(Map<Integer, Double> gflops) {

    /** The square sizes measured: past 1024 the product is compute-bound on any CPU the bench runs on. */
    static final int[] SIZES = {256, 512, 1024, 2048};

    GemmPeak {
        gflops = Map.copyOf(gflops);
    }

    static GemmPeak measure() {
        Map<Integer, Double> gf = new LinkedHashMap<>();
        for (int n : SIZES) {
            INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
            INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
            INDArray c = Nd4j.create(DataType.FLOAT, n, n);
            int reps = n >= 2048 ? 3 : 8;
            Stat s = Stat.time(2, reps, () -> {
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
                return null;
            });
            gf.put(n, 2.0 * n * n * n / s.min() / 1e9);
        }
        return new GemmPeak(gf);
    }

    /** {@code gemm_gflops}: the best of the sizes. */
    double peak() {
        return gflops.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }

    /** {@code gemm}: GFLOP/s per size, smallest first. */
    ObjectNode json(ObjectMapper om) {
        ObjectNode o = om.createObjectNode();
        for (int n : SIZES) if (gflops.containsKey(n)) o.put(Integer.toString(n), gflops.get(n));
        return o;
    }
}
