package dev.saeforge.report;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * What one SAE's latents did over the report's tokens, gathered batch by batch in memory that does
 * not grow with the tokens: per latent, how many tokens it fired on, its largest activation, a
 * histogram of its non-zero activations, and its {@code contexts} highest activations with the
 * window around each. The reductions over a batch's rows run on the engine (counts, maxima, top-k
 * over rows, histogram counts); only [d_sae]-sized results and the new contexts' values come to Java.
 *
 * <p>The histogram of a latent has {@link #BINS} bins over [0, R), R a power of two at least its
 * largest activation so far; when a larger one comes, R doubles (as often as needed) and pairs of
 * bins merge, which is exact, so no value is ever binned twice or held.
 */
final class LatentCollector {
    static final int BINS = 32;
    /** Tokens shown before and after the peak of a context, within its window. */
    static final int BEFORE = 12;
    static final int AFTER = 4;

    /** One top activation: its value, and (once its batch is read back) its window's tokens and the latent's activations on them. */
    static final class Candidate {
        final float value;
        final long order;
        final int row;
        long[] tokens;
        float[] activations;
        int peak;

        Candidate(float value, long order, int row) {
            this.value = value;
            this.order = order;
            this.row = row;
        }
    }

    private static final Comparator<Candidate> LOWEST_FIRST = Comparator.<Candidate>comparingDouble(c -> c.value)
            .thenComparing(Comparator.comparingLong((Candidate c) -> c.order).reversed());

    private final int dSae;
    private final int contexts;
    private final long[] fired;
    private final float[] max;
    /** Per latent the histogram's range R (0 before it first fires). */
    private final float[] range;
    /** Per latent its {@link #BINS} counts, latent-major. */
    private final long[] histogram;
    private final List<PriorityQueue<Candidate>> top = new ArrayList<>();
    private long batches;

    LatentCollector(int dSae, int contexts) {
        this.dSae = dSae;
        this.contexts = contexts;
        this.fired = new long[dSae];
        this.max = new float[dSae];
        this.range = new float[dSae];
        this.histogram = new long[dSae * BINS];
        for (int j = 0; j < dSae; j++) {
            top.add(null);
        }
    }

    /**
     * Adds a batch: {@code features} [rows, d_sae], zero on the rows that do not count, rows
     * window-major over {@code windows} (each {@code contextSize} long). Arrays made here belong
     * to the caller's scope.
     */
    void add(NDArray features, long[][] windows, int contextSize) {
        NDManager manager = features.getManager();
        int rows = (int) features.getShape().get(0);
        long[] firedNow = countTrue(features.gt(0)).toType(DataType.INT64, false).toLongArray();
        float[] maxNow = features.max(new int[]{0}).toFloatArray();
        for (int j = 0; j < dSae; j++) {
            fired[j] += firedNow[j];
            if (maxNow[j] > max[j]) {
                max[j] = maxNow[j];
            }
            if (maxNow[j] > 0) {
                grow(j, maxNow[j]);
            }
        }
        addToHistograms(features, firedNow, manager);
        addToTop(features, windows, contextSize, rows, manager);
        batches++;
    }

    /** Doubles latent j's range until it holds {@code value}, merging pairs of bins each time. */
    private void grow(int j, float value) {
        if (range[j] == 0) {
            range[j] = (float) Math.pow(2, Math.ceil(Math.log(value) / Math.log(2)));
            return;
        }
        while (range[j] < value) {
            int at = j * BINS;
            for (int b = 0; b < BINS / 2; b++) {
                histogram[at + b] = histogram[at + 2 * b] + histogram[at + 2 * b + 1];
            }
            for (int b = BINS / 2; b < BINS; b++) {
                histogram[at + b] = 0;
            }
            range[j] *= 2;
        }
    }

    /** Counts each latent's activations at or above each bin's lower edge, then takes differences. */
    private void addToHistograms(NDArray features, long[] firedNow, NDManager manager) {
        float[] ranges = new float[dSae];
        for (int j = 0; j < dSae; j++) {
            ranges[j] = range[j] == 0 ? Float.POSITIVE_INFINITY : range[j];
        }
        NDArray r = manager.create(ranges);
        NDList atLeast = new NDList();
        for (int b = 1; b < BINS; b++) {
            try (NDArray edge = r.mul((float) b / BINS)) {
                atLeast.add(countTrue(features.gte(edge)));
            }
        }
        long[] counts = NDArrays.stack(atLeast).toType(DataType.INT64, false).toLongArray();   // [BINS - 1, d_sae]
        for (int j = 0; j < dSae; j++) {
            long above = firedNow[j];
            for (int b = 0; b < BINS; b++) {
                long next = b + 1 < BINS ? counts[b * dSae + j] : 0;
                histogram[j * BINS + b] += above - next;
                above = next;
            }
        }
    }

    /**
     * How many rows each latent's {@code comparison} [rows, d_sae] holds true on; frees the
     * comparison at once, so that one batch-sized boolean array at a time is alive.
     */
    private static NDArray countTrue(NDArray comparison) {
        try (comparison) {
            return comparison.sum(new int[]{0});
        }
    }

    /** Offers each latent's highest activations of the batch to its top contexts, then reads back the windows of those kept. */
    private void addToTop(NDArray features, long[][] windows, int contextSize, int rows, NDManager manager) {
        int k = Math.min(contexts, rows);
        if (k == 0) {
            return;
        }
        NDList best = features.topK(k, 0, true, true);
        float[] values = best.get(0).toFloatArray();   // [k, d_sae]
        long[] indices = best.get(1).toType(DataType.INT64, false).toLongArray();
        List<Candidate> added = new ArrayList<>();
        List<Integer> latentOf = new ArrayList<>();
        for (int j = 0; j < dSae; j++) {
            for (int t = 0; t < k; t++) {
                float value = values[t * dSae + j];
                if (value <= 0) {
                    break;
                }
                PriorityQueue<Candidate> heap = top.get(j);
                if (heap == null) {
                    heap = new PriorityQueue<>(LOWEST_FIRST);
                    top.set(j, heap);
                }
                if (heap.size() >= contexts && value <= heap.peek().value) {
                    break;
                }
                Candidate candidate = new Candidate(value, batches * rows + indices[t * dSae + j], (int) indices[t * dSae + j]);
                heap.add(candidate);
                if (heap.size() > contexts) {
                    heap.poll();
                }
                added.add(candidate);
                latentOf.add(j);
            }
        }
        // The windows of the candidates still kept, in one gather of the latent's activations over each span.
        List<Candidate> kept = new ArrayList<>();
        List<long[]> spans = new ArrayList<>();
        int total = 0;
        for (int i = 0; i < added.size(); i++) {
            Candidate c = added.get(i);
            int j = latentOf.get(i);
            if (!top.get(j).contains(c)) {
                continue;
            }
            int window = c.row / contextSize;
            int position = c.row % contextSize;
            int from = Math.max(0, position - BEFORE);
            int to = Math.min(contextSize - 1, position + AFTER);
            c.tokens = Arrays.copyOfRange(windows[window], from, to + 1);
            c.peak = position - from;
            long[] flat = new long[to - from + 1];
            for (int q = from; q <= to; q++) {
                flat[q - from] = ((long) window * contextSize + q) * dSae + j;
            }
            kept.add(c);
            spans.add(flat);
            total += flat.length;
        }
        if (kept.isEmpty()) {
            return;
        }
        long[] all = new long[total];
        int at = 0;
        for (long[] span : spans) {
            System.arraycopy(span, 0, all, at, span.length);
            at += span.length;
        }
        float[] gathered = features.reshape(-1).get(manager.create(all)).toFloatArray();
        at = 0;
        for (Candidate c : kept) {
            c.activations = Arrays.copyOfRange(gathered, at, at + c.tokens.length);
            at += c.tokens.length;
        }
    }

    int dSae() {
        return dSae;
    }

    long fired(int latent) {
        return fired[latent];
    }

    float max(int latent) {
        return max[latent];
    }

    /** Latent {@code latent}'s histogram: its edges over [0, R] and counts; null when it never fired. */
    Report.Histogram histogram(int latent) {
        if (range[latent] == 0) {
            return null;
        }
        List<Double> edges = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        for (int b = 0; b <= BINS; b++) {
            edges.add((double) range[latent] * b / BINS);
        }
        for (int b = 0; b < BINS; b++) {
            counts.add(histogram[latent * BINS + b]);
        }
        return new Report.Histogram(edges, counts);
    }

    /** Latent {@code latent}'s top contexts, highest first. */
    List<Candidate> top(int latent) {
        PriorityQueue<Candidate> heap = top.get(latent);
        if (heap == null) {
            return List.of();
        }
        List<Candidate> out = new ArrayList<>(heap);
        out.sort(LOWEST_FIRST.reversed());
        return out;
    }
}
