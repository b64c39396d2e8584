package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.DatasetSpec;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Tokenizer;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The held-out tokens a report collects its latents over, batch by batch, through the run's own
 * model and packing: the windows of spec.dataset.eval when the run has one, else the run's
 * training text from where its checkpoint's activation stream stopped reading (text no SAE of the
 * run trained on). When that data runs out before {@code tokens} tokens, it is read again from its
 * start and {@link #wrapped()} says so. Counted are the rows training would use
 * (spec.dataset.seqposSlice, excludeSpecialTokens); the others still show in contexts.
 *
 * <p>Memory: a batch at a time (storeBatchSizePrompts windows), except that the windows of a
 * separate evaluation dataset are packed up front, 8 bytes per token.
 */
public final class ReportTokens implements AutoCloseable {
    /** One forward pass: its windows, the activations at each hook ([windows * contextSize, width], all positions), and which rows count. */
    public record Batch(long[][] windows, List<NDArray> activations, long[] counted) {
    }

    private final LanguageModelData data;
    private final List<HookPoint> hooks;
    private final long tokens;
    private final TrainingWindows training;
    private final long startEpoch;
    private final List<long[][]> evalBatches;
    private final String source;
    private int nextEvalBatch;
    private long counted;
    private boolean wrapped;

    private ReportTokens(LanguageModelData data, List<HookPoint> hooks, long tokens, StreamPosition after) {
        this.data = data;
        this.hooks = hooks;
        this.tokens = tokens;
        DatasetSpec dataset = data.dataset();
        if (dataset.eval != null) {
            this.training = null;
            this.startEpoch = 0;
            this.evalBatches = data.heldOutBatches();
            this.source = "spec.dataset.eval " + dataset.eval.uri;
        } else {
            if (after == null) {
                throw new IllegalArgumentException("the checkpoint records no activation stream position, so where its training text "
                        + "ends is unknown; a report needs a run with spec.dataset.eval or a checkpoint that records its stream");
            }
            this.evalBatches = null;
            this.training = data.trainingWindows();
            training.restore(after.text(), after.windows());
            this.startEpoch = after.text().document().epoch();
            this.source = dataset.uri + " after the training range";
        }
    }

    /**
     * Opens the model and data of {@code spec} on {@code device} for {@code tokens} tokens at
     * {@code hooks}: {@code recorded} is the checkpoint's record of its inputs (null: as the
     * locations are now), {@code streamPosition} its activation stream's position (null if it has none).
     */
    public static ReportTokens open(TrainingRunSpec spec, List<HookPoint> hooks, Device device, ModelSources sources, InputFiles recorded,
                                    Map<String, Object> streamPosition, long tokens) throws IOException {
        TrainingRunSpec opened = spec;
        if (spec.dataset.eval != null) {
            // Enough evaluation windows for the report's tokens (the training held-out set is not changed by this).
            opened = spec.copy();
            long windows = Math.ceilDiv(tokens, Math.max(1, spec.dataset.contextSize));
            opened.training.evalBatches = (int) Math.min(Integer.MAX_VALUE, Math.ceilDiv(windows, spec.dataset.storeBatchSizePrompts));
        }
        LanguageModelData data = LanguageModelData.open(opened, hooks, device, sources, recorded);
        try {
            return new ReportTokens(data, hooks, tokens, streamPosition == null ? null : StreamPosition.fromJson(streamPosition));
        } catch (RuntimeException e) {
            data.close();
            throw e;
        }
    }

    /** The next batch, its activations in {@code manager}; null once {@code tokens} rows were counted. */
    public Batch next(NDManager manager) {
        if (counted >= tokens) {
            return null;
        }
        long[][] windows = nextWindows();
        long[] rows = data.keptRows().rows(windows);
        if (wrapped && counted == 0 && rows.length == 0) {
            throw new IllegalArgumentException("no position of the held-out data (" + source + ") is kept by spec.dataset.seqposSlice and "
                    + "excludeSpecialTokens; expected tokens to collect the latents over");
        }
        if (rows.length > tokens - counted) {
            rows = Arrays.copyOf(rows, (int) (tokens - counted));
        }
        counted += rows.length;
        List<NDArray> activations = data.model().activations(manager.create(windows), hooks);
        return new Batch(windows, activations, rows);
    }

    private long[][] nextWindows() {
        if (evalBatches != null) {
            if (nextEvalBatch == 0 && counted > 0) {
                wrapped = true;
            }
            long[][] batch = evalBatches.get(nextEvalBatch);
            nextEvalBatch = (nextEvalBatch + 1) % evalBatches.size();
            return batch;
        }
        long[][] batch = training.next();
        if (training.state().document().epoch() > startEpoch) {
            wrapped = true;
        }
        return batch;
    }

    /** Rows counted so far. */
    public long counted() {
        return counted;
    }

    /** Whether the data ran out and was read again from its start. */
    public boolean wrapped() {
        return wrapped;
    }

    /** Where the tokens come from, for the report. */
    public String source() {
        return source;
    }

    public Tokenizer tokenizer() {
        return data.tokenizer();
    }

    public LanguageModelData data() {
        return data;
    }

    @Override
    public void close() {
        if (training != null) {
            training.close();
        }
        data.close();
    }
}
