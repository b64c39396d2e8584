package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The producer pipeline of an activation stream: a thread that starts passes (a language model's
 * forward passes on a pool of forward threads, each running the model once to the deepest hook,
 * or an activation cache's stored passes, see {@link Passes}) and builds refills of the mixing
 * buffers, one buffer per hook, from their rows, while the trainer takes batches of refills
 * already built.
 *
 * <p>The buffers of all hooks get the same rows count, batch size, mixing fraction and seed, so
 * each refill permutes every hook's rows the same way and serves the same number of batches:
 * batch j of a refill holds the same token positions at every hook. A hook's batches do not
 * depend on which other hooks the stream serves.
 *
 * <p>It runs at most two refills ahead of the one being served, so at most {@link #REFILLS_ALIVE}
 * refills' rows are alive: about three times nBatchesInBuffer * storeBatchSizePrompts *
 * contextSize rows of each hook's width, in float32, on the model's device.
 */
final class ActivationProducer implements AutoCloseable {
    /** Refills whose rows may be alive at once: the one being served and two ahead. */
    static final int REFILLS_ALIVE = 3;

    /** One refill: a round per hook (in the stream's hook order), and where the text stood after its windows. */
    record Refill(List<MixingBuffer.Round> rounds, NDManager manager, Packer.State end, long windows) {
        long index() {
            return rounds.get(0).index();
        }

        int batches() {
            return rounds.get(0).batches();
        }
    }

    /** Batch {@code index} of {@code refill}; a null refill reports the producer's failure. */
    record Served(Refill refill, int index) {
    }

    /**
     * A pass started ahead: its rows per hook, how many rows that is (known before the rows are),
     * and where the input stands after it: the packer's state (a cache's passes have none) and the
     * windows read since the start of the training stream.
     */
    record Pass(Future<List<NDArray>> rows, long count, Packer.State end, long windows) {
    }

    /**
     * Where the passes come from, in stream order: a language model's forward passes over the
     * training windows ({@link ForwardPasses}) or the passes an activation cache stored.
     */
    interface Passes extends AutoCloseable {
        /** The device the rows are on. */
        Device device();

        /** Starts the next pass, its rows created by {@code manager}. */
        Pass next(NDManager manager);

        /** Passes to start beyond those a refill needs, so that the refill after it never waits for their start. */
        int ahead();

        @Override
        void close();
    }

    private static final Served FAILED = new Served(null, -1);

    private final Passes source;
    private final List<MixingBuffer> buffers;
    private final NDManager manager;
    private final Semaphore refillsAlive = new Semaphore(REFILLS_ALIVE);
    private final BlockingQueue<Served> queue = new LinkedBlockingQueue<>();
    private final List<Refill> refills = new ArrayList<>();
    private Thread producer;
    private volatile boolean stopping;
    private volatile Throwable failure;

    /** Builds refills of {@code buffers} (one per hook, in the passes' hook order) from {@code source}'s passes; closes the source when closed. */
    ActivationProducer(Passes source, List<MixingBuffer> buffers) {
        this.source = source;
        this.buffers = List.copyOf(buffers);
        this.manager = Torch.engine().newBaseManager(source.device());
    }

    boolean running() {
        return producer != null;
    }

    /** Starts producing refills {@code firstIndex} onwards, after {@code resumed} (null if none), from where the windows are. */
    void start(Refill resumed, long firstIndex) {
        stopping = false;
        failure = null;
        producer = new Thread(() -> produce(resumed, firstIndex), "activation-producer");
        producer.setDaemon(true);
        producer.start();
    }

    /**
     * The refill a checkpoint stopped in, rebuilt from its rows not yet served ({@code pending},
     * one array per hook, copied to the model's device): {@code batchesLeft} batches remain.
     */
    Refill resumed(long index, List<NDArray> pending, int batchesLeft, Packer.State end, long windowsRead) {
        NDManager refillManager = manager.newSubManager();
        List<MixingBuffer.Round> rounds = new ArrayList<>();
        for (int h = 0; h < buffers.size(); h++) {
            NDArray onDevice = pending.get(h).toDevice(source.device(), true);
            NDArray copy = onDevice.toType(ai.djl.ndarray.types.DataType.FLOAT32, false);
            if (copy != onDevice) {
                onDevice.close();
            }
            copy.attach(refillManager);
            rounds.add(buffers.get(h).resumed(index, copy, batchesLeft));
        }
        acquireRefillPermit();
        Refill refill = new Refill(rounds, refillManager, end, windowsRead);
        synchronized (refills) {
            refills.add(refill);
        }
        return refill;
    }

    /** The next batch, waiting for the producer; its failure is rethrown here. */
    Served take() {
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
                for (int j = 0; j < refill.batches(); j++) {
                    queue.put(new Served(refill, j));
                }
                index = refill.index() + 1;
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

    /** The rows each hook's newest refill keeps; null before the first. */
    private List<NDArray> lastKept() {
        synchronized (refills) {
            return refills.isEmpty() ? null : refills.get(refills.size() - 1).rounds().stream().map(MixingBuffer.Round::kept).toList();
        }
    }

    /**
     * Refill {@code index}: the rows of the passes it needs, in order, so the result does not
     * depend on which pass finished first. The passes run ahead: before waiting for this refill's
     * passes, the producer starts {@link Passes#ahead} more (as many as there are forward
     * threads), so that they never wait for the packing. How many passes each refill takes is arithmetic
     * on row counts (the same for every hook; a pass's count follows from its tokens, see
     * {@link KeptRows}), so running ahead does not change which windows a refill gets.
     */
    private Refill fill(long index, List<NDArray> kept, Deque<Pass> passes) {
        long keptRows = kept == null ? 0 : kept.get(0).getShape().get(0);
        int needed;
        while ((needed = buffers.get(0).chunksNeeded(keptRows, passes.stream().mapToLong(Pass::count))) < 0) {
            passes.add(source.next(manager));
        }
        while (passes.size() < needed + source.ahead()) {
            passes.add(source.next(manager));
        }
        List<Pass> mine = new ArrayList<>();
        for (int i = 0; i < needed; i++) {
            mine.add(passes.removeFirst());
        }
        NDManager refillManager = manager.newSubManager();
        try {
            List<List<NDArray>> rows = results(mine.stream().map(Pass::rows).toList());
            List<MixingBuffer.Round> rounds = new ArrayList<>();
            for (int h = 0; h < buffers.size(); h++) {
                int hook = h;
                List<NDArray> fresh = rows.stream().map(pass -> pass.get(hook)).toList();
                rounds.add(buffers.get(h).refill(index, kept == null ? null : kept.get(h), fresh, refillManager));
            }
            Pass last = mine.get(needed - 1);
            Refill refill = new Refill(rounds, refillManager, last.end(), last.windows());
            synchronized (refills) {
                refills.add(refill);
            }
            return refill;
        } catch (RuntimeException e) {
            discard(mine);
            refillManager.close();
            throw e;
        }
    }

    /** Waits, even if interrupted, until none of {@code passes} runs any more, and frees their rows. */
    private static void discard(Collection<Pass> passes) {
        boolean interrupted = Thread.interrupted();
        for (Pass pass : passes) {
            while (true) {
                try {
                    pass.rows().get().forEach(NDArray::close);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException | CancellationException e) {
                    break;
                }
            }
        }
        passes.clear();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The passes' rows in order; a pass's failure is rethrown as it was. */
    private static <T> List<T> results(List<Future<T>> pending) {
        List<T> out = new ArrayList<>();
        try {
            for (Future<T> pass : pending) {
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
     * Frees the refills before {@code next}, which the trainer has moved past (a resumed refill
     * may have had no batch left to serve). Their kept rows were copied into {@code next}'s when
     * it was built.
     */
    void retireBefore(Refill next) {
        synchronized (refills) {
            while (!refills.isEmpty() && refills.get(0) != next) {
                refills.remove(0).manager().close();
                refillsAlive.release();
            }
        }
    }

    /** Stops the producer thread and frees every refill. */
    void stop() {
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
    }

    /** Refills whose rows are alive (for tests of the memory bound). */
    int refillsHeld() {
        synchronized (refills) {
            return refills.size();
        }
    }

    /** Batches built and not yet taken. */
    int queued() {
        return queue.size();
    }

    @Override
    public void close() {
        stop();
        source.close();
        manager.close();
    }
}
