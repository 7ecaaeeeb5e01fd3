package org.silora.dl4j;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One listener's importance and anchor, where its {@link ImportanceRegularization}s find them at training time: held
 * by the listener and handed to each regularization it makes (no process-wide map: two networks with two listeners
 * in one JVM keep their own pulls, whatever their ids).
 *
 * <p>Why slices by address: DL4J serializes a {@code Regularization} with the network configuration (JSON), and in
 * 1.0.0-M2.1 the updater calls it as {@code apply(paramView, gradView, lr, iteration, epoch)} and
 * {@code score(paramView, iteration, epoch)} with no layer or parameter name, through an instance that DL4J may clone
 * per layer. What it receives is a view into the network's flattened parameter vector ({@code model.params()}): a
 * view shares the native buffer of that vector, {@code view.data().address()} is the buffer's base address and
 * {@code view.offset()} the element offset into it (measured on M2.1; the view's {@code DataBuffer} object is a
 * different wrapper, so object identity is not used). {@code endTask(model)} stores the model's flat parameter vector
 * with flat importance and anchor vectors of the same length; a regularization cuts the matching range out of them.
 *
 * <pre>{@code
 * ImportanceState state = new ImportanceState("si");
 * state.register(net.params(), omega, anchor);
 * Optional<ImportanceState.Slice> s = state.find(paramView);   // empty before the first task ends
 * }</pre>
 */
public final class ImportanceState {

    private final String id;
    private volatile List<Entry> entries = List.of();

    /** @param id the owning listener's id, for messages */
    public ImportanceState(String id) {
        this.id = id;
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
     * Stores (or replaces) the importance and anchor of the model whose flattened parameter vector is {@code params};
     * all three are vectors of the same length, in the order of {@code params}.
     */
    public synchronized void register(INDArray params, INDArray importance, INDArray anchor) {
        if (importance.length() != params.length() || anchor.length() != params.length()) {
            throw new IllegalArgumentException("importance, anchor and params must have the same length: "
                    + importance.length() + ", " + anchor.length() + ", " + params.length());
        }
        Entry e = new Entry(params, params.data().address(), params.offset(), params.length(),
                importance.reshape(importance.length()), anchor.reshape(anchor.length()));
        List<Entry> list = new ArrayList<>();
        for (Entry o : entries) if (o.address != e.address || o.offset != e.offset) list.add(o);
        list.add(e);
        entries = List.copyOf(list);
    }

    /** Whether a task has ended (anything is stored). */
    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /**
     * The importance and anchor for a parameter view passed to a {@code Regularization}: empty while no task has
     * ended (the first task trains unregularized).
     *
     * @throws IllegalStateException if something is stored but not for the network this view belongs to, or the
     *                               view is not a contiguous range of it
     */
    public Optional<Slice> find(INDArray paramView) {
        List<Entry> list = entries;
        if (list.isEmpty()) return Optional.empty();
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
        throw new IllegalStateException("importance '" + id + "' is held for another network than the one these parameters"
                + " belong to: call endTask(model) on the network being trained (a clone or a re-initialised network"
                + " has new parameter arrays)");
    }
}
