package dev.saeforge.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.saeforge.api.DatasetSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.PrimitiveIterator;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * SAELens' mixing buffer (reference/saelens-qwen3.md §3.3), one refill at a time: the rows kept
 * from the last refill plus new chunks until there are at least {@code bufferRows}, all of them
 * permuted uniformly at random, the first k = max(1, ⌊rows (1 - mix)⌋ / batch) batches served and
 * the rest kept for the next refill. mix = 0 serves in arrival order.
 *
 * <p>The permutation of refill r comes from (seed, r) alone, so a refill is a pure function of its
 * inputs; together with the rows not yet served (saved in checkpoints) that makes resume exact.
 * The buffer must serve a batch while keeping its mixing fraction, bufferRows (1 - mix) >= batch:
 * otherwise a batch would be drawn from barely more rows than it holds, from few windows.
 */
final class MixingBuffer {
    /**
     * One refill: its permuted rows, of which the first {@code batches} batches are served in
     * order; the rows after them are kept for the next refill.
     */
    record Round(long index, NDArray rows, int batches, int batchRows) {
        /** Batch {@code j} (a view of the rows). */
        NDArray batch(int j) {
            return rows.get(new NDIndex((long) j * batchRows + ":" + (long) (j + 1) * batchRows));
        }

        /** The rows not yet served once {@code served} batches are: the rest of this round's batches, then what it keeps. */
        NDArray after(int served) {
            return rows.get(new NDIndex((long) served * batchRows + ":"));
        }

        NDArray kept() {
            return after(batches);
        }
    }

    private final long bufferRows;
    private final int batchRows;
    private final double mix;
    private final long seed;

    /**
     * One buffer per hook of a stream serving {@code hooks} hooks, each sized as SAELens sizes it
     * ({@link DatasetSpec#bufferRows}), with the same batch, mixing fraction and seed, so that a
     * refill permutes every hook's rows alike.
     */
    static List<MixingBuffer> perHook(int hooks, DatasetSpec dataset, int batchRows, long seed) {
        List<MixingBuffer> buffers = new ArrayList<>();
        for (int h = 0; h < hooks; h++) {
            buffers.add(new MixingBuffer(dataset.bufferRows(), batchRows, dataset.mixingFraction, seed));
        }
        return buffers;
    }

    MixingBuffer(long bufferRows, int batchRows, double mix, long seed) {
        if (!(mix >= 0 && mix < 1)) {
            throw new IllegalArgumentException("spec.dataset.mixingFraction is " + mix + "; expected at least 0 and below 1");
        }
        if (bufferRows * (1 - mix) < batchRows) {
            throw new IllegalArgumentException(String.format("the mixing buffer holds %,d rows (spec.dataset.nBatchesInBuffer * "
                    + "storeBatchSizePrompts * contextSize); keeping %.0f%% of them leaves fewer than one batch of %,d "
                    + "(spec.training.batchSizeTokens) to serve, so batches would mix too few windows; expected at least %,d rows",
                    bufferRows, 100 * mix, batchRows, (long) Math.ceil(batchRows / (1 - mix))));
        }
        this.bufferRows = bufferRows;
        this.batchRows = batchRows;
        this.mix = mix;
        this.seed = seed;
    }

    long bufferRows() {
        return bufferRows;
    }

    /**
     * How many chunks of {@code rowsPerChunk} rows a refill adds to {@code keptRows}: as SAELens
     * does, one, and then more until the buffer holds bufferRows.
     */
    int chunksNeeded(long keptRows, long rowsPerChunk) {
        return chunksNeeded(keptRows, LongStream.generate(() -> rowsPerChunk));
    }

    /**
     * As above for chunks of {@code chunkRows} rows in order (fewer when positions are dropped
     * before the buffer): how many of the first ones a refill adds; -1 if all of them are not enough.
     */
    int chunksNeeded(long keptRows, LongStream chunkRows) {
        long rows = keptRows;
        int chunks = 0;
        for (PrimitiveIterator.OfLong it = chunkRows.iterator(); it.hasNext(); ) {
            rows += it.nextLong();
            chunks++;
            if (rows >= bufferRows) {
                return chunks;
            }
        }
        return -1;
    }

    /**
     * Refill {@code index}: {@code kept} (the last refill's rest, may be null) and the
     * {@link #chunksNeeded} {@code fresh} chunks, permuted; created by {@code manager}.
     */
    Round refill(long index, NDArray kept, List<NDArray> fresh, NDManager manager) {
        List<NDArray> parts = new ArrayList<>();
        if (kept != null && kept.getShape().get(0) > 0) {
            parts.add(kept);
        }
        parts.addAll(fresh);
        long rows = parts.stream().mapToLong(p -> p.getShape().get(0)).sum();
        if (rows < bufferRows) {
            throw new IllegalArgumentException("a refill got " + rows + " rows, fewer than the buffer's " + bufferRows);
        }
        NDArray storage = parts.size() == 1 ? parts.get(0) : NDArrays.concat(new NDList(parts), 0);
        storage.attach(manager);
        if (parts.size() > 1) {
            fresh.forEach(NDArray::close);
        }
        if (mix > 0) {
            NDArray order = manager.create(permutation(rows, seed, index));
            NDArray mixed = storage.get(order);
            mixed.attach(manager);
            order.close();
            storage.close();
            storage = mixed;
        }
        int batches = (int) Math.max(1, (long) Math.floor(rows * (1 - mix)) / batchRows);
        return new Round(index, storage, batches, batchRows);
    }

    /** The round a checkpoint stopped in: {@code pending} rows, of which {@code batches} batches remain to serve. */
    Round resumed(long index, NDArray pending, int batches) {
        if ((long) batches * batchRows > pending.getShape().get(0)) {
            throw new IllegalArgumentException("the saved buffer holds " + pending.getShape().get(0) + " rows, fewer than the "
                    + batches + " batches of " + batchRows + " still to serve");
        }
        return new Round(index, pending, batches, batchRows);
    }

    /** A uniform permutation of 0..n-1 (Fisher-Yates) from a generator seeded by (seed, round). */
    static long[] permutation(long n, long seed, long round) {
        long[] p = new long[Math.toIntExact(n)];
        for (int i = 0; i < p.length; i++) {
            p[i] = i;
        }
        SplittableRandom random = new SplittableRandom(new SplittableRandom(seed ^ 0x6A09E667F3BCC909L).nextLong() + round * 0x9E3779B97F4A7C15L);
        for (int i = p.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
