package dev.saeforge.train;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import dev.saeforge.data.ThreadSettings;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * One training step of every SAE of a run on one batch of the stream, each on its hook's rows:
 * one after another on the calling thread, or {@code concurrent} at once on worker threads that
 * share the SAE threads between them. Each SAE's step is the same computation either way.
 */
final class SaeSteps implements AutoCloseable {
    /** An SAE's step met non-finite numbers (the trainer tells from the step counters which SAEs had taken it). */
    static final class NonFiniteStep extends RuntimeException {
        final SaeState sae;
        final SaeTrainer.NonFiniteException cause;

        NonFiniteStep(SaeState sae, SaeTrainer.NonFiniteException cause) {
            super(cause.getMessage(), cause);
            this.sae = sae;
            this.cause = cause;
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
        this.workers = ThreadSettings.pool(concurrent, each, "sae-step");
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
                throw new NonFiniteStep(saes.get(i), e);
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
        for (int i = 0; i < pending.size(); i++) {
            try {
                Metrics metrics = pending.get(i).get();
                if (withMetrics) {
                    out.add(metrics);
                }
            } catch (ExecutionException e) {
                // Every step is waited for; the first SAE to meet non-finite numbers is the one reported.
                if (e.getCause() instanceof SaeTrainer.NonFiniteException nonFinite) {
                    failed = failed != null ? failed : new NonFiniteStep(saes.get(i), nonFinite);
                } else if (e.getCause() instanceof RuntimeException runtime) {
                    throw runtime;
                } else {
                    throw new IllegalStateException("an SAE step failed: " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while SAEs were stepping", e);
            }
        }
        if (failed != null) {
            throw failed;
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
