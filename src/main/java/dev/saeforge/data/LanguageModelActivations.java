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
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * A Qwen3 model's activations at one hook over a text dataset, as SAELens' ActivationsStore makes
 * them: documents tokenized and packed into windows ({@link Packer}), windows run through the
 * model in batches of storeBatchSizePrompts up to the hook, the activation rows shuffled by the
 * {@link MixingBuffer} and served in batches of spec.training.batchSizeTokens rows.
 *
 * <p>A producer thread does all of that (reading, tokenizing, the forward pass, the refills) while
 * the caller trains on the batches already served: it runs at most one refill ahead, so at most
 * two refills' rows are alive (plus the one being assembled). Each thread gets its own libtorch
 * intra-op thread count ({@link Threads}).
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
    /** libtorch intra-op threads of the producer (the forward pass) and of the caller (the SAE step). */
    public record Threads(int producer, int consumer) {
        public Threads {
            if (producer < 1 || consumer < 1) {
                throw new IllegalArgumentException("thread counts must be >= 1, got " + producer + " and " + consumer);
            }
        }

        /**
         * Splits the cores between the two threads, so that they overlap instead of contending:
         * SAEFORGE_LM_THREADS and SAEFORGE_SAE_THREADS override the split.
         */
        public static Threads fromEnvironment() {
            int cores = Runtime.getRuntime().availableProcessors();
            int producer = Math.max(1, cores / 2);
            return new Threads(number("SAEFORGE_LM_THREADS", producer), number("SAEFORGE_SAE_THREADS", Math.max(1, cores - producer)));
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

    /** Batch {@code index} of {@code refill}; a null refill reports the producer's failure. */
    private record Served(Refill refill, int index) {
    }

    private static final Served FAILED = new Served(null, -1);
    /** Name prefix of the unserved buffer rows among the position arrays. */
    private static final String BUFFER = "buffer.";
    /** Values per saved part of the buffer: 2^28 float32s, 1 GiB. */
    static final long MAX_PART_ELEMENTS = 1L << 28;

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
    private final ReentrantLock modelLock = new ReentrantLock();
    private final Semaphore refillsAlive = new Semaphore(2);
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
        Qwen3Model model = Qwen3Model.load(dir, device, modelSpec.dtype == ModelSpec.Dtype.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT32);
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
     * reads, tokenizes and packs windows and runs {@code passes} forward passes on the calling
     * thread, returning their activations (created by {@code manager}). Only before the first
     * {@link #next}; the windows are the ones training would have read.
     */
    public List<NDArray> forwardPasses(NDManager manager, int passes) {
        if (producer != null) {
            throw new IllegalStateException("forwardPasses runs the producer's work itself; the producer thread has already started");
        }
        List<NDArray> out = new ArrayList<>();
        for (int i = 0; i < passes; i++) {
            out.add(forward(manager));
        }
        return out;
    }

    /** Runs {@code work} on the model while the producer leaves it alone (the model is for one thread at a time). */
    public <T> T withModel(Function<Qwen3Model, T> work) {
        setConsumerThreads();
        modelLock.lock();
        try {
            return work.apply(model);
        } finally {
            modelLock.unlock();
        }
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
        try {
            JniUtils.getNumThreads();   // libtorch reads its per-thread count once, lazily: settle it before setting ours
            JniUtils.setNumThreads(threads.producer());
            Refill refill = first;
            long index = firstIndex;
            while (!stopping) {
                if (refill == null) {
                    acquireRefillPermit();
                    refill = fill(index, lastKept());
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
        }
    }

    /** The rows the newest refill keeps; null before the first. */
    private NDArray lastKept() {
        synchronized (refills) {
            return refills.isEmpty() ? null : refills.get(refills.size() - 1).round().kept();
        }
    }

    private Refill fill(long index, NDArray kept) {
        NDManager manager = producerManager.newSubManager();
        try {
            MixingBuffer.Round round = buffer.refill(index, kept, this::forward, manager);
            Refill refill = new Refill(round, manager, packer.state(), windows);
            synchronized (refills) {
                refills.add(refill);
            }
            return refill;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** One forward pass: storeBatchSizePrompts windows to the hook, [windows * context, dIn] rows in {@code manager}. */
    private NDArray forward(NDManager manager) {
        long[][] batch = new long[windowsPerForward][];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = packer.next();
        }
        windows += batch.length;
        NDArray tokens = manager.create(batch);
        modelLock.lock();
        try {
            return model.activations(tokens, hook);
        } finally {
            modelLock.unlock();
            tokens.close();
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
            JniUtils.getNumThreads();
            JniUtils.setNumThreads(threads.consumer());
            consumerThreadsSet = true;
        }
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
        return out;
    }

    @Override
    public String describe() {
        return String.format("%s at %s over %s (%d file%s; windows of %d tokens%s; %,d-row mixing buffer; %s held out)", modelName, hook,
                dataset.uri, text.files(), text.files() == 1 ? "" : "s", rules.contextSize(),
                rules.bos() == null ? ", no BOS" : ", BOS " + special.bosToken() + " (" + rules.bos() + ")", buffer.bufferRows(),
                heldOut.describe());
    }

    @Override
    public void close() {
        stopProducer();
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
