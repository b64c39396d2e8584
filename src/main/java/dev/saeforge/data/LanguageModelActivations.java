package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Qwen3 model's activations at one or more hooks over a text dataset, as SAELens'
 * ActivationsStore makes them: documents tokenized and packed into windows ({@link Packer}),
 * windows run through the model in batches of storeBatchSizePrompts up to the deepest hook, each
 * hook's rows shuffled by its own {@link MixingBuffer} and served in batches of
 * spec.training.batchSizeTokens rows. The {@link ActivationProducer} does that on its threads
 * while the trainer trains on the batches already served.
 *
 * <p>Position: a run resumes exactly. A refill is a pure function of the rows it keeps from the
 * last refill, the windows it reads and its index (which seeds its permutation). A position
 * ({@link StreamPosition}) therefore records the refill the trainer is in, how many of its
 * batches were taken and where the text stood when the refill was complete; the refill's rows not
 * yet served are saved beside it, per hook. Restoring serves those rows first, then refills from
 * the saved text position: the same batches, bit for bit on the same hardware.
 */
public final class LanguageModelActivations extends BufferedActivations {
    /** Refills of each hook's mixing buffer alive at once: the one being served and two made ahead. */
    public static final int REFILLS_ALIVE = ActivationProducer.REFILLS_ALIVE;
    /** Values per saved part of a hook's buffer: 2^28 float32s, 1 GiB. Checkpoints keep this layout, which resume reads part by part. */
    static final long MAX_PART_ELEMENTS = ServedBatches.MAX_PART_ELEMENTS;

    private final LanguageModelData data;
    private final List<HookPoint> hooks;
    private final long bufferRows;
    private final TrainingWindows windows;
    private final ServedBatches batches;

    private LanguageModelActivations(LanguageModelData data, List<HookPoint> hooks, int batchRows, long seed, ThreadSettings threads) {
        this.data = data;
        this.hooks = List.copyOf(hooks);
        this.bufferRows = data.dataset().bufferRows();
        List<MixingBuffer> buffers = MixingBuffer.perHook(hooks.size(), data.dataset(), batchRows, seed);
        this.windows = data.trainingWindows();
        ActivationProducer producer = new ActivationProducer(new ForwardPasses(data, hooks, windows, threads), buffers);
        this.batches = new ServedBatches(producer, hooks.stream().map(HookPoint::toString).toList(), hooks.stream().map(h -> h.width(data.model().config())).toList(), batchRows,
                start -> windows.restore(start.text(), start.windows()));
    }

    /**
     * Opens the model and dataset of {@code spec} on {@code device} for the activations at
     * {@code hooks} (distinct, in the order {@link #next} serves them).
     */
    public static LanguageModelActivations open(TrainingRunSpec spec, List<HookPoint> hooks, Device device, ModelSources sources,
                                                ThreadSettings threads) throws IOException {
        return open(spec, hooks, device, sources, threads, null);
    }

    /** As above, on the input a checkpoint recorded ({@code recorded}; null: the input as it is now), see {@link LanguageModelData#open}. */
    public static LanguageModelActivations open(TrainingRunSpec spec, List<HookPoint> hooks, Device device, ModelSources sources,
                                                ThreadSettings threads, InputFiles recorded) throws IOException {
        requireDistinct(hooks);
        LanguageModelData data = LanguageModelData.open(spec, hooks, device, sources, recorded);
        try {
            return new LanguageModelActivations(data, hooks, spec.training.batchSizeTokens, spec.training.seed, threads);
        } catch (RuntimeException e) {
            data.close();
            throw e;
        }
    }

    /** The model, tokenizer and held-out windows this stream reads, for evaluation. */
    public LanguageModelData data() {
        return data;
    }

    @Override
    ServedBatches batches() {
        return batches;
    }

    /** {@code rows} [n, d] as "PREFIX0", "PREFIX1"..., views of at most {@code maxElements} values each (at least one row). */
    static Map<String, NDArray> parts(String prefix, NDArray rows, long maxElements) {
        return ServedBatches.parts(prefix, rows, maxElements);
    }

    @Override
    public ActivationSource heldOut() {
        return new HeldOutActivations(data, hooks, describe());
    }

    @Override
    public Map<String, Object> metadata() {
        return data.metadata();
    }

    @Override
    public Optional<InputFiles> inputs() {
        return Optional.of(data.inputs());
    }

    @Override
    public String describe() {
        return data.describe(hooks, bufferRows);
    }

    @Override
    public void close() {
        batches.close();
        windows.close();
        data.close();
    }
}
