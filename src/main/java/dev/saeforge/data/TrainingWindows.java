package dev.saeforge.data;

/**
 * The training text as context windows, read forward from a {@link Packer.State}: what each
 * forward pass of the stream reads. Counts the windows read, which checkpoints record.
 */
public final class TrainingWindows implements AutoCloseable {
    private final TextStream text;
    private final Packer packer;
    private final int windowsPerForward;
    private long windows;

    TrainingWindows(TextStream text, Packer packer, int windowsPerForward) {
        this.text = text;
        this.packer = packer;
        this.windowsPerForward = windowsPerForward;
    }

    /** The next storeBatchSizePrompts windows: one forward pass's tokens. */
    public long[][] next() {
        long[][] batch = new long[windowsPerForward][];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = packer.next();
        }
        windows += batch.length;
        return batch;
    }

    /** Packs and drops the next {@code passes} forward passes' windows (packing is cheap; no model runs). */
    public void skip(long passes) {
        for (long p = 0; p < passes; p++) {
            next();
        }
    }

    /** Where the packer is between windows. */
    Packer.State state() {
        return packer.state();
    }

    long windows() {
        return windows;
    }

    /** Continues from {@code state}, having read {@code windowsRead} windows before it. */
    void restore(Packer.State state, long windowsRead) {
        packer.restore(state);
        windows = windowsRead;
    }

    int files() {
        return text.files();
    }

    @Override
    public void close() {
        text.close();
    }
}
