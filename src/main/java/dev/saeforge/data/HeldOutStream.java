package dev.saeforge.data;

import java.util.Map;

/**
 * A stream of held-out rows for evaluation: read from its start, batch after batch (starting over
 * after the last), never repositioned; it is its own held-out stream.
 */
abstract class HeldOutStream implements ActivationSource {
    private long taken;

    /** Counts a batch served, for {@link #position()}. */
    protected final void served() {
        taken++;
    }

    @Override
    public Map<String, Object> position() {
        return Map.of("batches", taken);
    }

    @Override
    public void seek(Map<String, Object> position) {
        throw new UnsupportedOperationException("the held-out activations are read from their start only");
    }

    @Override
    public ActivationSource heldOut() {
        return this;
    }
}
