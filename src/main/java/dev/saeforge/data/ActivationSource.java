package dev.saeforge.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A stream of activation vectors to train SAEs on, at one or more hooks: a language model's hook
 * activations (one forward pass gives every hook's rows) or a synthetic source. A source can say
 * where it is and be put back there, so an interrupted run resumes on exactly the data it would
 * have seen.
 */
public interface ActivationSource extends AutoCloseable {

    /** The hooks served, in the order {@link #next} returns their rows. */
    List<String> hooks();

    /** Width of the activation vectors at {@code hook}. */
    int dIn(String hook);

    /**
     * The next {@code rows} activation vectors at every hook, float32 [rows, dIn(hook)] in
     * {@link #hooks()} order, created by {@code manager}; row i is the same token at every hook.
     */
    NDList next(NDManager manager, int rows);

    /** Where the stream is, as JSON-friendly values, for a checkpoint. */
    Map<String, Object> position();

    /** Moves the stream to a position {@link #position()} returned. */
    void seek(Map<String, Object> position);

    /**
     * Arrays that are part of the position, saved beside it: a shuffle buffer's rows not yet
     * served, which cannot be recomputed cheaply. Valid until the next {@link #next}.
     */
    default Map<String, NDArray> positionArrays() {
        return Map.of();
    }

    /** Moves the stream to a position that {@link #position()} and {@link #positionArrays()} described; copies the arrays. */
    default void seek(Map<String, Object> position, Map<String, NDArray> arrays) {
        seek(position);
    }

    /** Facts about where the activations come from, for checkpoint metadata (cfg.json), e.g. the BOS id used. */
    default Map<String, Object> metadata() {
        return Map.of();
    }

    /**
     * The files and revisions the stream reads, for a checkpoint to record, so that a resumed run
     * reads the same; empty for a source that reads no files.
     */
    default Optional<InputFiles> inputs() {
        return Optional.empty();
    }

    /** A stream of different samples from the same distribution, for evaluation. */
    ActivationSource heldOut();

    /** What the source is, for messages: "synthetic superposition (64 features in 32 dims, seed 42)". */
    String describe();

    @Override
    default void close() {
    }
}
