package org.silora.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where {@link ImportanceRegularization} finds its importance and anchor arrays at training time.
 *
 * <p>Why a registry: DL4J serializes a {@code Regularization} as part of the network configuration (JSON), so it
 * must hold scalars only, and in 1.0.0-M2.1 the updater calls it as {@code apply(paramView, gradView, lr, iteration,
 * epoch)} and {@code score(paramView, iteration, epoch)} — with no layer or parameter name, through an instance that
 * DL4J may clone per layer. What it does receive is a view into the network's flattened parameter vector
 * ({@code model.params()}). A view shares the native buffer of that vector: {@code view.data().address()} is the
 * buffer's base address and {@code view.offset()} the element offset into it (measured on M2.1; the view's
 * {@code DataBuffer} object is a different wrapper, so object identity is not used). {@code endTask(model)}
 * registers, under the listener's id, the model's flat parameter vector together with flat importance and anchor
 * vectors of the same length; the regularization then cuts the matching range out of them.
 *
 * <p>The registry holds a reference to each registered parameter vector (so its address cannot be reused while
 * registered); {@link #remove(String)} releases an id. Several models may be registered under one id; a parameter
 * view that belongs to none of them is an error once anything is registered under the id.
 */
public final class ImportanceRegistry {

    private static final Map<String, List<Entry>> ENTRIES = new ConcurrentHashMap<>();

    private ImportanceRegistry() {
    }

    /** Importance and anchor for one parameter view, shaped like it. */
    public record Slice(INDArray importance, INDArray anchor) {
    }

    private record Entry(INDArray params, long address, long offset, long length, INDArray importance, INDArray anchor) {
        boolean holds(INDArray view) {
            return view.data().address() == address && view.offset() >= offset
                    && view.offset() + view.length() <= offset + length;
        }
    }

    /**
     * Registers (or replaces) the importance and anchor of the model whose flattened parameter vector is
     * {@code params}; all three are vectors of the same length, in the order of {@code params}.
     */
    public static void register(String id, INDArray params, INDArray importance, INDArray anchor) {
        if (importance.length() != params.length() || anchor.length() != params.length()) {
            throw new IllegalArgumentException("importance, anchor and params must have the same length: "
                    + importance.length() + ", " + anchor.length() + ", " + params.length());
        }
        Entry e = new Entry(params, params.data().address(), params.offset(), params.length(),
                importance.reshape(importance.length()), anchor.reshape(anchor.length()));
        ENTRIES.compute(id, (k, old) -> {
            List<Entry> list = new ArrayList<>();
            if (old != null) for (Entry o : old) if (o.address != e.address || o.offset != e.offset) list.add(o);
            list.add(e);
            return List.copyOf(list);
        });
    }

    /** Whether anything is registered under {@code id}. */
    public static boolean contains(String id) {
        return ENTRIES.containsKey(id);
    }

    /** Forgets everything registered under {@code id}. */
    public static void remove(String id) {
        ENTRIES.remove(id);
    }

    /**
     * The importance and anchor for a parameter view passed to a {@code Regularization}: empty when nothing is
     * registered under {@code id} yet (the first task trains unregularized).
     *
     * @throws IllegalStateException if something is registered under {@code id} but not for the network this view
     *                               belongs to, or the view is not a contiguous range of it
     */
    public static Optional<Slice> find(String id, INDArray paramView) {
        List<Entry> list = ENTRIES.get(id);
        if (list == null) return Optional.empty();
        for (Entry e : list) {
            if (!e.holds(paramView)) continue;
            if (!java.util.Arrays.equals(paramView.stride(), Nd4j.getStrides(paramView.shape(), paramView.ordering()))) {
                throw new IllegalStateException("importance '" + id + "': parameter view is not contiguous");
            }
            long from = paramView.offset() - e.offset;
            long to = from + paramView.length();
            // a contiguous view with default strides for its ordering enumerates its buffer range in that ordering
            INDArray imp = e.importance.get(NDArrayIndex.interval(from, to)).reshape(paramView.ordering(), paramView.shape());
            INDArray anc = e.anchor.get(NDArrayIndex.interval(from, to)).reshape(paramView.ordering(), paramView.shape());
            return Optional.of(new Slice(imp, anc));
        }
        throw new IllegalStateException("importance '" + id + "' is registered, but not for the network these parameters"
                + " belong to: call endTask(model) on the network being trained (a clone or a re-initialised network"
                + " has new parameter arrays)");
    }
}
