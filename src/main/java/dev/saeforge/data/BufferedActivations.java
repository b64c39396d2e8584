package dev.saeforge.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import java.util.List;
import java.util.Map;

/**
 * An activation stream whose passes (a language model's forward passes, or an activation cache's
 * stored passes) feed mixing buffers through an {@link ActivationProducer}: batches, position and
 * resume are {@link ServedBatches}', whatever the passes are.
 */
abstract class BufferedActivations implements ActivationSource {

    /** Refuses a stream of no hooks, or of one hook twice. */
    static void requireDistinct(List<?> hooks) {
        if (hooks.isEmpty() || hooks.stream().distinct().count() != hooks.size()) {
            throw new IllegalArgumentException("an activation stream serves distinct hooks, at least one; got " + hooks);
        }
    }

    /** The trainer's side of the stream's producer. */
    abstract ServedBatches batches();

    @Override
    public List<String> hooks() {
        return batches().hooks();
    }

    @Override
    public int dIn(String hook) {
        return batches().width(hook);
    }

    @Override
    public NDList next(NDManager manager, int rows) {
        return batches().next(manager, rows);
    }

    @Override
    public Map<String, Object> position() {
        return batches().position().toJson();
    }

    /**
     * The rows of the current refill not yet served, per hook, as "HOOK.buffer.0",
     * "HOOK.buffer.1"...: parts of at most {@link ServedBatches#MAX_PART_ELEMENTS} values.
     */
    @Override
    public Map<String, NDArray> positionArrays() {
        return batches().positionArrays();
    }

    @Override
    public void seek(Map<String, Object> position) {
        seek(position, Map.of());
    }

    @Override
    public void seek(Map<String, Object> position, Map<String, NDArray> arrays) {
        batches().seek(StreamPosition.fromJson(position), arrays);
    }

    /** Refills whose rows are alive (for tests of the memory bound). */
    int refillsHeld() {
        return batches().refillsHeld();
    }

    /** Batches built by the producer and not yet taken. */
    int queued() {
        return batches().queued();
    }
}
