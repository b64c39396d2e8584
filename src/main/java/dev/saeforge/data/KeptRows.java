package dev.saeforge.data;

import ai.djl.ndarray.NDArray;

import java.util.Arrays;

/**
 * Which rows of a forward pass's activations reach the mixing buffer (and the evaluation), as
 * SAELens' ActivationsStore keeps them: the window positions of spec.dataset.seqposSlice, less
 * those whose token is one of spec.dataset.excludeSpecialTokens. Rows are the windows' positions
 * in order, window after window, so the kept rows of a pass follow from its tokens alone.
 *
 * @param contextSize tokens per window
 * @param positions   the window positions kept, in order
 * @param excluded    the token ids whose positions are dropped, sorted
 */
record KeptRows(int contextSize, int[] positions, long[] excluded) {
    KeptRows {
        excluded = excluded.clone();
        Arrays.sort(excluded);
    }

    /** Every row of every window. */
    static KeptRows all(int contextSize) {
        return new KeptRows(contextSize, java.util.stream.IntStream.range(0, contextSize).toArray(), new long[0]);
    }

    private boolean keepsAll() {
        return positions.length == contextSize && excluded.length == 0;
    }

    /** The most rows a window yields: its kept positions (SAELens' training_context_size). */
    int perWindow() {
        return positions.length;
    }

    /** The indices of the rows of {@code windows}' activations ([windows * contextSize, width]) that are kept. */
    long[] rows(long[][] windows) {
        long[] out = new long[windows.length * positions.length];
        int n = 0;
        for (int w = 0; w < windows.length; w++) {
            for (int p : positions) {
                if (Arrays.binarySearch(excluded, windows[w][p]) < 0) {
                    out[n++] = (long) w * contextSize + p;
                }
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** How many rows of {@code windows} are kept. */
    long count(long[][] windows) {
        return keepsAll() ? (long) windows.length * contextSize : rows(windows).length;
    }

    /**
     * The kept rows of {@code activations}, the rows of {@code windows}, in their manager; frees
     * {@code activations} unless every row is kept (then it is returned as it is).
     */
    NDArray select(NDArray activations, long[][] windows) {
        if (keepsAll()) {
            return activations;
        }
        try (NDArray index = activations.getManager().create(rows(windows))) {
            NDArray kept = activations.get(index);
            activations.close();
            return kept;
        }
    }
}
