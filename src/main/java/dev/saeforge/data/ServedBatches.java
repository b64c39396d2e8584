package dev.saeforge.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The trainer's side of an {@link ActivationProducer}: batches taken in order, and the position
 * that makes a resume exact. A refill is a pure function of the rows it keeps from the last
 * refill, the passes it reads and its index (which seeds its permutation). A position
 * ({@link StreamPosition}) therefore records the refill the trainer is in, how many of its batches
 * were taken and where the input stood when the refill was complete; the refill's rows not yet
 * served are saved beside it, per hook. Restoring serves those rows first, then refills from the
 * saved input position: the same batches, bit for bit on the same hardware.
 */
final class ServedBatches implements AutoCloseable {
    /** Values per saved part of a hook's buffer: 2^28 float32s, 1 GiB. Checkpoints keep this layout, which resume reads part by part. */
    static final long MAX_PART_ELEMENTS = 1L << 28;

    private final ActivationProducer producer;
    private final List<String> hooks;
    private final List<Integer> widths;
    private final int batchRows;
    private final Consumer<StreamPosition> rewind;

    // Where the trainer is: the refill of the last batch taken and how many of its batches it took.
    private ActivationProducer.Refill current;
    private int served;
    // What the producer starts from: a position, and the rows of the refill it was inside.
    private StreamPosition start = StreamPosition.START;
    private ActivationProducer.Refill resumed;

    /**
     * Batches of {@code batchRows} rows of {@code producer}'s refills at {@code hooks} (of
     * {@code widths}); {@code rewind} puts the producer's passes where a position's input stood.
     */
    ServedBatches(ActivationProducer producer, List<String> hooks, List<Integer> widths, int batchRows, Consumer<StreamPosition> rewind) {
        this.producer = producer;
        this.hooks = List.copyOf(hooks);
        this.widths = List.copyOf(widths);
        this.batchRows = batchRows;
        this.rewind = rewind;
    }

    List<String> hooks() {
        return hooks;
    }

    /** The width of the rows served at {@code hook}. */
    int width(String hook) {
        int index = hooks.indexOf(hook);
        if (index < 0) {
            throw new IllegalArgumentException("this stream serves " + hooks + ", not " + hook);
        }
        return widths.get(index);
    }

    NDList next(NDManager manager, int rows) {
        if (rows != batchRows) {
            throw new IllegalArgumentException("this source serves batches of " + batchRows + " rows (spec.training.batchSizeTokens), not " + rows);
        }
        if (!producer.running()) {
            rewind.accept(start);
            producer.start(resumed, start.refill() + 1);
        }
        ActivationProducer.Served next = producer.take();
        if (next.refill() != current) {
            producer.retireBefore(next.refill());
            current = next.refill();
        }
        served = next.index() + 1;
        NDList out = new NDList();
        for (MixingBuffer.Round round : current.rounds()) {
            NDArray batch = round.batch(next.index());
            batch.attach(manager);
            NDScope.register(batch);
            out.add(batch);
        }
        return out;
    }

    StreamPosition position() {
        if (current != null) {
            return new StreamPosition(current.end(), current.index(), served, current.batches(), current.windows());
        }
        if (resumed != null) {
            return new StreamPosition(resumed.end(), resumed.index(), 0, resumed.batches(), resumed.windows());
        }
        return new StreamPosition(start.text(), start.refill(), 0, 0, start.windows());
    }

    /**
     * The rows of the current refill not yet served, per hook, as "HOOK.buffer.0",
     * "HOOK.buffer.1"...: parts of at most {@link #MAX_PART_ELEMENTS} values.
     */
    Map<String, NDArray> positionArrays() {
        ActivationProducer.Refill refill = current != null ? current : resumed;
        if (refill == null) {
            return Map.of();
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (int h = 0; h < hooks.size(); h++) {
            MixingBuffer.Round round = refill.rounds().get(h);
            NDArray rows = refill == current ? round.after(served) : round.rows();
            out.putAll(parts(hooks.get(h) + ".buffer.", rows, MAX_PART_ELEMENTS));
        }
        return out;
    }

    /** {@code rows} [n, d] as "PREFIX0", "PREFIX1"..., views of at most {@code maxElements} values each (at least one row). */
    static Map<String, NDArray> parts(String prefix, NDArray rows, long maxElements) {
        Map<String, NDArray> parts = new LinkedHashMap<>();
        long total = rows.getShape().get(0);
        long perPart = Math.max(1, maxElements / rows.getShape().get(1));
        int index = 0;
        for (long from = 0; from < total || index == 0; from += perPart) {
            parts.put(prefix + index++, rows.get(new NDIndex(from + ":" + Math.min(total, from + perPart))));
        }
        return parts;
    }

    /** Moves to {@code target}, whose refill's rows not yet served are {@code arrays} (copied). */
    void seek(StreamPosition target, Map<String, NDArray> arrays) {
        producer.stop();
        current = null;
        served = 0;
        resumed = null;
        if (target.insideRefill()) {
            List<NDArray> pending = new ArrayList<>();
            try {
                for (int h = 0; h < hooks.size(); h++) {
                    pending.add(joinedParts(arrays, hooks.get(h), widths.get(h), target.refill()));
                }
                resumed = producer.resumed(target.refill(), pending, target.batches() - target.served(), target.text(), target.windows());
            } finally {
                pending.forEach(NDArray::close);
            }
        }
        start = target;
    }

    /** A copy of the saved rows of {@code hook} ("HOOK.buffer.0"...), checked to be [rows, dIn]. */
    private static NDArray joinedParts(Map<String, NDArray> arrays, String hook, int dIn, long refill) {
        NDList parts = new NDList();
        for (int i = 0; arrays.containsKey(hook + ".buffer." + i); i++) {
            NDArray part = arrays.get(hook + ".buffer." + i);
            if (part.getShape().dimension() != 2 || part.getShape().get(1) != dIn) {
                throw new IllegalArgumentException("the checkpoint's buffer rows of " + hook + " have shape " + part.getShape()
                        + "; expected [rows, " + dIn + "]");
            }
            parts.add(part);
        }
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("the activation stream's position is inside refill " + refill
                    + " but the checkpoint lacks the buffer rows of " + hook);
        }
        return parts.size() == 1 ? parts.get(0).duplicate() : NDArrays.concat(parts, 0);
    }

    /** Refills whose rows are alive (for tests of the memory bound). */
    int refillsHeld() {
        return producer.refillsHeld();
    }

    /** Batches built by the producer and not yet taken. */
    int queued() {
        return producer.queued();
    }

    @Override
    public void close() {
        producer.close();
    }
}
