package dev.saeforge.cache;

import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingRunSpec;

/**
 * How many rows a run reads from its activation stream, in forward passes, and how those passes
 * are split into a cache's indexes: the one place the cache's size is computed (the writer, the
 * reader and the operator all call it).
 *
 * <p>The stream draws the normalisation estimate's batches, then one batch per training step; its
 * mixing buffer holds {@code bufferRows} more and asks for up to one more pass than it serves, so
 * {@code needed = (normDraws + steps) · batchSizeTokens + bufferRows + rowsPerPass} and the run
 * needs {@code passes = ⌈needed / rowsPerPass⌉}. A pass yields at most rowsPerPass rows; when
 * spec.dataset.excludeSpecialTokens drops some, the writer counts the passes from the tokens
 * instead ({@link #withPasses}), since only the text says how many rows each pass keeps.
 *
 * @param passes      forward passes of training windows the run needs
 * @param rowsPerPass the most rows one pass yields: storeBatchSizePrompts · kept positions per window
 * @param bufferRows  rows of the mixing buffer (nBatchesInBuffer · rowsPerPass, as SAELens sizes it)
 * @param neededRows  rows the stream reads, at most
 * @param heldOutRows held-out rows the evaluation reads: evalBatches · batchSizeTokens
 */
public record CachePlan(long passes, int rowsPerPass, long bufferRows, long neededRows, long heldOutRows) {

    /** Passes {@code [first, end)} of one index. */
    public record PassRange(long first, long end) {
        public long count() {
            return end - first;
        }
    }

    /** The plan of a valid spec. */
    public static CachePlan of(TrainingRunSpec spec) {
        int rowsPerPass = Math.multiplyExact(spec.dataset.storeBatchSizePrompts, spec.dataset.keptPerWindow());
        long bufferRows = spec.dataset.bufferRows();
        long batch = spec.training.batchSizeTokens;
        long steps = Math.ceilDiv(spec.training.tokens, batch);
        long needed = Math.addExact(Math.multiplyExact(normDraws(spec) + steps, batch), bufferRows + rowsPerPass);
        return new CachePlan(Math.ceilDiv(needed, rowsPerPass), rowsPerPass, bufferRows, needed,
                (long) spec.training.evalBatches * batch);
    }

    /** This plan with {@code passes} counted from the tokens (rows dropped by excludeSpecialTokens). */
    public CachePlan withPasses(long passes) {
        return new CachePlan(passes, rowsPerPass, bufferRows, neededRows, heldOutRows);
    }

    /** The forward passes {@code spec} needs (see the class comment). */
    public static long passes(TrainingRunSpec spec) {
        return of(spec).passes();
    }

    /**
     * Batches drawn before training for the activation scale: the most any SAE of the run asks for
     * (those with normalizeActivations expected_average_only_in), as train/Training draws them.
     */
    static long normDraws(TrainingRunSpec spec) {
        return SaeDefinition.all(spec, "cache").stream().map(SaeDefinition::sae)
                .filter(sae -> sae.normalizeActivations == SaeSpec.ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN)
                .mapToLong(sae -> sae.nBatchesForNormEstimate).max().orElse(0);
    }

    /** The passes of index {@code index} of {@code of}: [⌊i·P/N⌋, ⌊(i+1)·P/N⌋). */
    public PassRange range(int index, int of) {
        return range(passes, index, of);
    }

    /** As {@link #range(int, int)} for a cache of {@code passes} passes. */
    public static PassRange range(long passes, int index, int of) {
        if (of < 1 || index < 0 || index >= of) {
            throw new IllegalArgumentException("index " + index + " of " + of + ": expected 0 <= index < of and of >= 1");
        }
        return new PassRange(CacheLayout.firstPass(passes, index, of), CacheLayout.firstPass(passes, index + 1, of));
    }
}
