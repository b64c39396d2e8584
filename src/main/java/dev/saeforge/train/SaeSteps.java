package dev.saeforge.train;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import dev.saeforge.data.ThreadSettings;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One training step of every SAE of a run on one batch of the stream, each on its hook's rows:
 * one after another on the calling thread, or {@code concurrent} at once on worker threads that
 * share the SAE threads between them. Each SAE's step is the same computation either way.
 */
final class SaeSteps implements AutoCloseable {
    /** An SAE's step met non-finite numbers; {@code stepped} SAEs had already taken this step. */
    static final class NonFiniteStep extends RuntimeException {
        final SaeState sae;
        final SaeTrainer.NonFiniteException cause;
        final int stepped;

        NonFiniteStep(SaeState sae, SaeTrainer.NonFiniteException cause, int stepped) {
            super(cause.getMessage(), cause);
            this.sae = sae;
            this.cause = cause;
            this.stepped = stepped;
        }
    }

    private final List<SaeState> saes;
    private final ExecutorService workers;

    SaeSteps(List<SaeState> saes, ThreadSettings threads) {
        this.saes = saes;
        int concurrent = Math.min(threads.saeSteps(), saes.size());
        if (concurrent <= 1) {
            this.workers = null;
            return;
        }
        int each = Math.max(1, threads.saeThreads() / concurrent);
        AtomicInteger counter = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(concurrent, task -> {
            Thread thread = new Thread(() -> {
                ThreadSettings.useLibtorchThreads(each);
                task.run();
            }, "sae-step-" + counter.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Steps every SAE on {@code batch} (the stream's rows per hook); with {@code withMetrics}, returns
     * each SAE's metrics of this step, in order, else an empty list.
     */
    List<Metrics> step(NDList batch, boolean withMetrics) {
        return workers == null ? inTurn(batch, withMetrics) : atOnce(batch, withMetrics);
    }

    private List<Metrics> inTurn(NDList batch, boolean withMetrics) {
        List<Metrics> out = new ArrayList<>();
        for (int i = 0; i < saes.size(); i++) {
            try {
                Metrics metrics = stepOne(saes.get(i), batch, withMetrics);
                if (withMetrics) {
                    out.add(metrics);
                }
            } catch (SaeTrainer.NonFiniteException e) {
                throw new NonFiniteStep(saes.get(i), e, i);
            }
        }
        return out;
    }

    /**
     * One SAE's step in a scope of its own, so that its [batch, d_sae] intermediates are freed
     * before the next SAE's step makes its own: memory holds one step's, not one per SAE.
     * Metrics are read before they go.
     */
    private static Metrics stepOne(SaeState sae, NDList batch, boolean withMetrics) {
        try (NDScope scope = new NDScope()) {
            SaeTrainer.Step step = sae.step(batch.get(sae.hookIndex()));
            return withMetrics ? sae.metrics(step) : null;
        }
    }

    private List<Metrics> atOnce(NDList batch, boolean withMetrics) {
        List<Future<Metrics>> pending = new ArrayList<>();
        for (SaeState sae : saes) {
            pending.add(workers.submit(() -> stepOne(sae, batch, withMetrics)));
        }
        List<Metrics> out = new ArrayList<>();
        NonFiniteStep failed = null;
        int stepped = 0;
        for (int i = 0; i < pending.size(); i++) {
            try {
                Metrics metrics = pending.get(i).get();
                stepped++;
                if (withMetrics) {
                    out.add(metrics);
                }
            } catch (ExecutionException e) {
                if (e.getCause() instanceof SaeTrainer.NonFiniteException nonFinite && failed == null) {
                    failed = new NonFiniteStep(saes.get(i), nonFinite, 0);
                } else if (e.getCause() instanceof RuntimeException runtime) {
                    throw runtime;
                } else if (!(e.getCause() instanceof SaeTrainer.NonFiniteException)) {
                    throw new IllegalStateException("an SAE step failed: " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while SAEs were stepping", e);
            }
        }
        if (failed != null) {
            throw new NonFiniteStep(failed.sae, failed.cause, stepped);
        }
        return out;
    }

    @Override
    public void close() {
        if (workers != null) {
            workers.shutdownNow();
        }
    }
}
