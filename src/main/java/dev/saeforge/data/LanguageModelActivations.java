package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import dev.saeforge.api.DatasetSpec;
import dev.saeforge.api.ModelSpec;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.lm.SpecialTokens;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A Qwen3 model's activations at one hook over a text dataset, as SAELens' ActivationsStore makes
 * them: documents tokenized and packed into windows ({@link Packer}), windows run through the
 * model in batches of storeBatchSizePrompts up to the hook, the activation rows shuffled by the
 * {@link MixingBuffer} and served in batches of spec.training.batchSizeTokens rows.
 *
 * <p>A producer thread does all of that (reading, tokenizing, the refills; the forward passes on
 * a pool of forward threads) while the caller trains on the batches already served: it runs at
 * most two refills ahead, so at most three refills' rows are alive, about three times
 * nBatchesInBuffer * storeBatchSizePrompts * contextSize * dIn floats.
 * Each thread gets its own libtorch intra-op thread count ({@link Threads}).
 *
 * <p>Position: a run resumes exactly. A refill is a pure function of the rows it keeps from the
 * last refill, the windows it reads (from a packer state: a document and a token offset) and its
 * index (which seeds its permutation). A position therefore records the refill the caller is in,
 * how many of its batches were taken, where the text stood when the refill was complete, and, as
 * an array, the refill's rows not yet served. Restoring serves those rows first, then refills
 * from the saved text position: the same batches, bit for bit on the same hardware.
 *
 * <p>The first documents of the data are held out for evaluation ({@link HeldOut}).
 */
public final class LanguageModelActivations implements ActivationSource {
    /**
     * How the work is spread over threads: {@code forwards} forward passes run at once, each with
     * {@code lmThreads} libtorch intra-op threads, while the caller's SAE step uses
     * {@code saeThreads}.
     */
    public record Threads(int forwards, int lmThreads, int saeThreads) {
        public Threads {
            if (forwards < 1 || lmThreads < 1 || saeThreads < 1) {
                throw new IllegalArgumentException("thread counts must be >= 1, got " + forwards + ", " + lmThreads + " and " + saeThreads);
            }
        }

        /**
         * One forward pass at a time with half the cores' libtorch threads, and the other half
         * for the SAE step. The producer thread's packing runs ahead of the forward passes, so
         * the model never waits for it; on the 2-core machine this beats two single-threaded
         * passes at once, which leave the SAE step too little of the CPU (bench train measures
         * both). SAEFORGE_LM_FORWARDS, SAEFORGE_LM_THREADS and SAEFORGE_SAE_THREADS override each.
         */
        public static Threads fromEnvironment() {
            int cores = Runtime.getRuntime().availableProcessors();
            int lm = Math.max(1, cores / 2);
            return new Threads(number("SAEFORGE_LM_FORWARDS", 1), number("SAEFORGE_LM_THREADS", lm),
                    number("SAEFORGE_SAE_THREADS", Math.max(1, cores - lm)));
        }

        private static int number(String variable, int fallback) {
            String value = System.getenv(variable);
            if (value == null || value.isBlank()) {
                return fallback;
            }
            try {
                int n = Integer.parseInt(value.strip());
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw new IllegalArgumentException(variable + " is \"" + value + "\"; expected a whole number of threads >= 1");
        }
    }

    /** One refill and what a position taken inside it needs. */
    private record Refill(MixingBuffer.Round round, NDManager manager, Packer.State end, long windows) {
    }

    /** A forward pass started ahead: its rows, and the packer's state and window count after its windows. */
    private record Pass(Future<NDArray> rows, Packer.State end, long windows) {
    }

    /** Batch {@code index} of {@code refill}; a null refill reports the producer's failure. */
    private record Served(Refill refill, int index) {
    }

    private static final Served FAILED = new Served(null, -1);
    /** Name prefix of the unserved buffer rows among the position arrays. */
    private static final String BUFFER = "buffer.";
    /** Values per saved part of the buffer: 2^28 float32s, 1 GiB. */
    static final long MAX_PART_ELEMENTS = 1L << 28;
    /** Refills whose rows may be alive at once: the one being served and two ahead. */
    static final int REFILLS_ALIVE = 3;

    private final String modelName;
    private final Qwen3Model model;
    private final Tokenizer tokenizer;
    private final HookPoint hook;
    private final SpecialTokens special;
    private final DatasetSpec dataset;
    private final Packer.Rules rules;
    private final int dIn;
    private final int batchRows;
    private final int windowsPerForward;
    private final Threads threads;
    private final TextStream text;
    private final Packer packer;
    private final HeldOut heldOut;
    private final MixingBuffer buffer;
    private final NDManager producerManager;
    private final ExecutorService forwardPool;
    private final Semaphore refillsAlive = new Semaphore(REFILLS_ALIVE);
    private final BlockingQueue<Served> queue = new LinkedBlockingQueue<>();
    private final List<Refill> refills = new ArrayList<>();

    private Thread producer;
    private volatile boolean stopping;
    private volatile Throwable failure;
    private boolean consumerThreadsSet;

    // Where the caller is: the refill of the last batch taken and how many of its batches it took.
    private Refill current;
    private int served;
    // What the producer starts from: a packer state, and the rows of an interrupted refill.
    private Packer.State start = new Packer.State(TextPosition.START, 0);
    private long nextRefill;
    private Refill resumed;
    private long windows;

    private LanguageModelActivations(String modelName, Qwen3Model model, Tokenizer tokenizer, HookPoint hook, SpecialTokens special,
                                     DatasetSpec dataset, Packer.Rules rules, int batchRows, long seed, int evalWindows,
                                     List<Shard> shards, Threads threads) {
        this.modelName = modelName;
        this.model = model;
        this.tokenizer = tokenizer;
        this.hook = hook;
        this.special = special;
        this.dataset = dataset;
        this.rules = rules;
        this.dIn = hook.width(model.config());
        this.batchRows = batchRows;
        this.windowsPerForward = dataset.storeBatchSizePrompts;
        this.threads = threads;
        this.buffer = new MixingBuffer((long) dataset.nBatchesInBuffer * dataset.storeBatchSizePrompts * dataset.contextSize,
                batchRows, dataset.mixingFraction, seed);
        try (TextStream all = new TextStream(shards, dataset.format, dataset.textField, dataset.malformedRows, seed, TextStream.RowFilter.ALL,
                dataset.uri)) {
            this.heldOut = HeldOut.take(all, new TokenizedText(all, tokenizer), rules, evalWindows);
        }
        this.text = new TextStream(shards, dataset.format, dataset.textField, dataset.malformedRows, seed, heldOut, dataset.uri);
        this.packer = new Packer(rules, new TokenizedText(text, tokenizer));
        this.producerManager = Torch.engine().newBaseManager(model.device());
        AtomicInteger counter = new AtomicInteger();
        this.forwardPool = Executors.newFixedThreadPool(threads.forwards(), task -> {
            Thread thread = new Thread(() -> {
                setLibtorchThreads(threads.lmThreads());
                task.run();
            }, "lm-forward-" + counter.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Opens the model and dataset of {@code spec} on {@code device}, checking that they fit
     * together, and holds out the evaluation windows; the producer starts on the first batch.
     */
    public static LanguageModelActivations open(TrainingRunSpec spec, Device device, ModelSources sources, Threads threads) throws IOException {
        ModelSpec modelSpec = spec.model;
        DatasetSpec dataset = spec.dataset;
        HookPoint hook = HookPoint.parse(spec.hook);
        Path dir = sources.resolve(modelSpec.uri);
        Qwen3Model model = Qwen3Model.load(dir, device, modelSpec.dtype == null ? null : Precision.valueOf(modelSpec.dtype.name()));
        Tokenizer tokenizer = null;
        try {
            hook.checkAgainst(model.config(), modelSpec.uri);
            if (dataset.contextSize > model.config().maxPositionEmbeddings()) {
                throw new IllegalArgumentException("spec.dataset.contextSize is " + dataset.contextSize + ", longer than the "
                        + model.config().maxPositionEmbeddings() + " positions " + modelSpec.uri + " was trained for");
            }
            tokenizer = Tokenizer.load(dir);
            SpecialTokens special = SpecialTokens.read(dir);
            Long separator = switch (dataset.sequenceSeparator) {
                case BOS -> special.bosId();
                case EOS -> special.eosId();
                case NONE -> null;
            };
            Packer.Rules rules = new Packer.Rules(dataset.contextSize, dataset.prependBos ? special.bosId() : null, separator,
                    dataset.disableConcatSequences);
            List<Shard> shards = DatasetFiles.of(sources).list(dataset.uri);
            int evalWindows = spec.training.evalBatches * dataset.storeBatchSizePrompts;
            return new LanguageModelActivations(modelSpec.name, model, tokenizer, hook, special, dataset, rules,
                    spec.training.batchSizeTokens, spec.training.seed, evalWindows, shards, threads);
        } catch (IOException | RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            model.close();
            throw e;
        }
    }

    @Override
    public int dIn() {
        return dIn;
    }

    public HookPoint hook() {
        return hook;
    }

    public int contextSize() {
        return rules.contextSize();
    }

    /** Windows per forward pass (spec.dataset.storeBatchSizePrompts). */
    public int windowsPerForward() {
        return windowsPerForward;
    }

    /** The held-out evaluation windows, in batches of storeBatchSizePrompts. */
    public List<long[][]> heldOutBatches() {
        List<long[][]> batches = new ArrayList<>();
        List<long[]> all = heldOut.windows();
        for (int i = 0; i < all.size(); i += windowsPerForward) {
            batches.add(all.subList(i, Math.min(all.size(), i + windowsPerForward)).toArray(long[][]::new));
        }
        return batches;
    }

    /**
     * The producer's work without the producer thread and the mixing buffer, for benchmarks:
     * reads, tokenizes and packs windows for {@code passes} forward passes and runs them, on the
     * forward threads ({@code parallel}) or one after the other on the calling thread, returning
     * their activations (created by {@code manager}). Only before the first {@link #next}; the
     * windows are the ones training would have read.
     */
    public List<NDArray> forwardPasses(NDManager manager, int passes, boolean parallel) {
        if (producer != null) {
            throw new IllegalStateException("forwardPasses runs the producer's work itself; the producer thread has already started");
        }
        List<NDArray> out = new ArrayList<>();
        if (!parallel) {
            for (int i = 0; i < passes; i++) {
                out.add(forward(nextWindows(), manager));
            }
            return out;
        }
        List<Future<NDArray>> pending = new ArrayList<>();
        for (int i = 0; i < passes; i++) {
            long[][] windows = nextWindows();
            pending.add(forwardPool.submit(() -> forward(windows, manager)));
        }
        return results(pending);
    }

    /**
     * Runs {@code work} on the model. Forward passes may run on several threads at once, so the
     * producer's go on meanwhile; on the caller's thread, work gets the SAE step's libtorch threads.
     */
    public <T> T withModel(Function<Qwen3Model, T> work) {
        setConsumerThreads();
        return work.apply(model);
    }

    @Override
    public NDArray next(NDManager manager, int rows) {
        if (rows != batchRows) {
            throw new IllegalArgumentException("this source serves batches of " + batchRows + " rows (spec.training.batchSizeTokens), not " + rows);
        }
        setConsumerThreads();
        if (producer == null) {
            startProducer();
        }
        Served next = take();
        if (next.refill() != current) {
            retireBefore(next.refill());
            current = next.refill();
        }
        served = next.index() + 1;
        NDArray batch = current.round().batch(next.index());
        batch.attach(manager);
        NDScope.register(batch);
        return batch;
    }

    private Served take() {
        try {
            while (true) {
                Served next = queue.poll(1, TimeUnit.SECONDS);
                if (next == FAILED || (next == null && failure != null)) {
                    throw failureOnThisThread();
                }
                if (next != null) {
                    return next;
                }
                if (!producer.isAlive() && queue.isEmpty()) {
                    throw new IllegalStateException("the activation producer stopped without an error");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for activations", e);
        }
    }

    private RuntimeException failureOnThisThread() {
        Throwable cause = failure;
        if (cause instanceof RuntimeException runtime) {
            return runtime;
        }
        if (cause instanceof IOException io) {
            return new UncheckedIOException(io.getMessage(), io);
        }
        return new IllegalStateException("the activation producer failed: " + cause, cause);
    }

    @Override
    public Map<String, Object> position() {
        Map<String, Object> out = new LinkedHashMap<>();
        Packer.State end = current != null ? current.end() : start;
        out.put("text", end.document().toJson());
        out.put("offset", end.offset());
        out.put("refill", current != null ? current.round().index() : resumed != null ? resumed.round().index() : nextRefill - 1);
        out.put("served", current != null ? served : 0);
        out.put("batches", current != null ? current.round().batches() : resumed != null ? resumed.round().batches() : 0);
        out.put("windows", current != null ? current.windows() : windows);
        return out;
    }

    /**
     * The rows of the current refill not yet served, as "buffer.0", "buffer.1"...: parts of at
     * most {@link #MAX_PART_ELEMENTS} values, since a checkpoint tensor is written from one
     * buffer of at most 2 GiB.
     */
    @Override
    public Map<String, NDArray> positionArrays() {
        NDArray rows = current != null ? current.round().after(served) : resumed != null ? resumed.round().rows() : null;
        return rows == null ? Map.of() : parts(rows, MAX_PART_ELEMENTS);
    }

    /** {@code rows} [n, d] as "buffer.0", "buffer.1"..., views of at most {@code maxElements} values each (at least one row). */
    static Map<String, NDArray> parts(NDArray rows, long maxElements) {
        Map<String, NDArray> parts = new LinkedHashMap<>();
        long total = rows.getShape().get(0);
        long perPart = Math.max(1, maxElements / rows.getShape().get(1));
        int index = 0;
        for (long from = 0; from < total || index == 0; from += perPart) {
            parts.put(BUFFER + index++, rows.get(new NDIndex(from + ":" + Math.min(total, from + perPart))));
        }
        return parts;
    }

    @Override
    public void seek(Map<String, Object> position) {
        seek(position, Map.of());
    }

    @Override
    public void seek(Map<String, Object> position, Map<String, NDArray> arrays) {
        stopProducer();
        TextPosition document = TextPosition.fromJson(position.get("text"), "the activation stream's position");
        int offset = integer(position, "offset");
        long refill = integer(position, "refill");
        int taken = integer(position, "served");
        int batches = integer(position, "batches");
        start = new Packer.State(document, offset);
        windows = position.get("windows") instanceof Number n ? n.longValue() : 0;
        nextRefill = refill + 1;
        resumed = null;
        if (refill >= 0) {
            NDList parts = new NDList();
            for (int i = 0; arrays.containsKey(BUFFER + i); i++) {
                NDArray part = arrays.get(BUFFER + i);
                if (part.getShape().dimension() != 2 || part.getShape().get(1) != dIn) {
                    throw new IllegalArgumentException("the checkpoint's buffer rows have shape " + part.getShape() + "; expected [rows, " + dIn + "]");
                }
                parts.add(part);
            }
            if (parts.isEmpty()) {
                throw new IllegalArgumentException("the activation stream's position is inside refill " + refill
                        + " but the checkpoint lacks its buffer rows");
            }
            NDManager manager = producerManager.newSubManager();
            // A copy of the caller's arrays, on the model's device, owned by the refill.
            NDArray joined = parts.size() == 1 ? parts.get(0).duplicate() : NDArrays.concat(parts, 0);
            NDArray copy = joined.toDevice(model.device(), false).toType(DataType.FLOAT32, false);
            if (copy != joined) {
                joined.close();
            }
            copy.attach(manager);
            acquireRefillPermit();
            resumed = new Refill(buffer.resumed(refill, copy, batches - taken), manager, start, windows);
            refills.add(resumed);
        }
    }

    private static int integer(Map<String, Object> position, String key) {
        if (position.get(key) instanceof Number n) {
            return n.intValue();
        }
        throw new IllegalArgumentException("the activation stream's position lacks \"" + key + "\": " + position);
    }

    // ---- the producer ----

    private void startProducer() {
        stopping = false;
        failure = null;
        packer.restore(start);
        Refill first = resumed;
        long firstIndex = nextRefill;
        producer = new Thread(() -> produce(first, firstIndex), "activation-producer");
        producer.setDaemon(true);
        producer.start();
    }

    private void produce(Refill first, long firstIndex) {
        Deque<Pass> passes = new ArrayDeque<>();
        try {
            Refill refill = first;
            long index = firstIndex;
            while (!stopping) {
                if (refill == null) {
                    acquireRefillPermit();
                    refill = fill(index, lastKept(), passes);
                }
                for (int j = 0; j < refill.round().batches(); j++) {
                    queue.put(new Served(refill, j));
                }
                index = refill.round().index() + 1;
                refill = null;
            }
        } catch (InterruptedException e) {
            // stopping
        } catch (Throwable e) {
            if (!stopping) {
                failure = e;
                queue.add(FAILED);
            }
        } finally {
            discard(passes);
        }
    }

    /** The rows the newest refill keeps; null before the first. */
    private NDArray lastKept() {
        synchronized (refills) {
            return refills.isEmpty() ? null : refills.get(refills.size() - 1).round().kept();
        }
    }

    /**
     * Refill {@code index}: the rows of the forward passes it needs, in order, so the result does
     * not depend on which pass finished first. The packing runs ahead: before waiting for this
     * refill's passes, the producer packs and starts as many more as there are forward threads,
     * so that they never wait for the packing. How many passes each refill takes is arithmetic
     * on row counts, so running ahead does not change which windows a refill gets.
     */
    private Refill fill(long index, NDArray kept, Deque<Pass> passes) {
        int needed = buffer.chunksNeeded(kept == null ? 0 : kept.getShape().get(0), (long) windowsPerForward * rules.contextSize());
        while (passes.size() < needed + threads.forwards()) {
            long[][] batch = nextWindows();
            passes.add(new Pass(forwardPool.submit(() -> forward(batch, producerManager)), packer.state(), windows));
        }
        List<Pass> mine = new ArrayList<>();
        for (int i = 0; i < needed; i++) {
            mine.add(passes.removeFirst());
        }
        List<Future<NDArray>> rows = mine.stream().map(Pass::rows).toList();
        NDManager manager = producerManager.newSubManager();
        try {
            MixingBuffer.Round round = buffer.refill(index, kept, results(rows), manager);
            Pass last = mine.get(needed - 1);
            Refill refill = new Refill(round, manager, last.end(), last.windows());
            synchronized (refills) {
                refills.add(refill);
            }
            return refill;
        } catch (RuntimeException e) {
            discard(mine);
            manager.close();
            throw e;
        }
    }

    /** Waits, even if interrupted, until none of {@code passes} runs any more, and frees their rows. */
    private static void discard(Collection<Pass> passes) {
        boolean interrupted = Thread.interrupted();
        for (Pass pass : passes) {
            while (true) {
                try {
                    pass.rows().get().close();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                    break;
                }
            }
        }
        passes.clear();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The next storeBatchSizePrompts windows. */
    private long[][] nextWindows() {
        long[][] batch = new long[windowsPerForward][];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = packer.next();
        }
        windows += batch.length;
        return batch;
    }

    /** One forward pass: the windows to the hook, [windows * context, dIn] rows in {@code manager}. */
    private NDArray forward(long[][] batch, NDManager manager) {
        NDArray tokens = manager.create(batch);
        try {
            return model.activations(tokens, hook);
        } finally {
            tokens.close();
        }
    }

    /** The passes' activations in order; a pass's failure is rethrown as it was. */
    private static List<NDArray> results(List<Future<NDArray>> pending) {
        List<NDArray> out = new ArrayList<>();
        try {
            for (Future<NDArray> pass : pending) {
                out.add(pass.get());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for forward passes", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException("a forward pass failed: " + e.getCause(), e.getCause());
        }
    }


    private void acquireRefillPermit() {
        try {
            refillsAlive.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the mixing buffer", e);
        }
    }

    /**
     * Frees the refills before {@code next}, which the caller has moved past (a resumed refill
     * may have had no batch left to serve). Their kept rows were copied into {@code next}'s when
     * it was built.
     */
    private void retireBefore(Refill next) {
        synchronized (refills) {
            while (!refills.isEmpty() && refills.get(0) != next) {
                refills.remove(0).manager().close();
                refillsAlive.release();
            }
        }
    }

    private void stopProducer() {
        if (producer != null) {
            stopping = true;
            producer.interrupt();
            try {
                producer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            producer = null;
        }
        queue.clear();
        synchronized (refills) {
            for (Refill refill : refills) {
                refill.manager().close();
                refillsAlive.release();
            }
            refills.clear();
        }
        current = null;
        served = 0;
        resumed = null;
    }

    private void setConsumerThreads() {
        if (!consumerThreadsSet) {
            setLibtorchThreads(threads.saeThreads());
            consumerThreadsSet = true;
        }
    }

    /** Sets the calling thread's libtorch intra-op threads (libtorch reads its count once per thread, lazily: settle that first). */
    private static void setLibtorchThreads(int count) {
        JniUtils.getNumThreads();
        JniUtils.setNumThreads(count);
    }

    /** Refills whose rows are alive (for tests of the memory bound). */
    int refillsHeld() {
        synchronized (refills) {
            return refills.size();
        }
    }

    /** Batches served by the producer and not yet taken. */
    int queued() {
        return queue.size();
    }

    @Override
    public ActivationSource heldOut() {
        return new HeldOutActivations(this);
    }

    @Override
    public Map<String, Object> metadata() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bos_token", rules.bos() == null ? null : special.bosToken());
        out.put("bos_token_id", rules.bos());
        out.put("bos_token_choice", special.describeBos());
        out.put("sequence_separator_token_id", rules.separator());
        out.put("store_batch_size_prompts", windowsPerForward);
        out.put("n_batches_in_buffer", dataset.nBatchesInBuffer);
        out.put("activations_mixing_fraction", dataset.mixingFraction);
        out.put("eval_windows", heldOut.windows().size());
        // How TransformerLens would load the model to compute these activations: unprocessed weights
        // (transformers' forward, as here), in the precision they were computed in.
        Map<String, Object> kwargs = new LinkedHashMap<>();
        kwargs.put("center_writing_weights", false);
        kwargs.put("dtype", model.precision().toString());
        out.put("model_from_pretrained_kwargs", kwargs);
        return out;
    }

    @Override
    public String describe() {
        return String.format("%s (%s) at %s over %s (%d file%s; windows of %d tokens%s; %,d-row mixing buffer; %s held out)", modelName,
                model.precision(), hook,
                dataset.uri, text.files(), text.files() == 1 ? "" : "s", rules.contextSize(),
                rules.bos() == null ? ", no BOS" : ", BOS " + special.bosToken() + " (" + rules.bos() + ")", buffer.bufferRows(),
                heldOut.describe());
    }

    @Override
    public void close() {
        stopProducer();
        forwardPool.shutdownNow();
        try {
            forwardPool.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producerManager.close();
        text.close();
        tokenizer.close();
        try {
            model.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
