package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.saeforge.lm.HookPoint;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A language model's forward passes over the training windows, as an activation stream's passes:
 * the next storeBatchSizePrompts windows packed on the caller's thread, run to the deepest hook on
 * a pool of forward threads ({@link LanguageModelData#keptActivations}), their kept rows per hook returned.
 */
final class ForwardPasses implements ActivationProducer.Passes {
    private final LanguageModelData data;
    private final List<HookPoint> hooks;
    private final TrainingWindows windows;
    private final int forwards;
    private final ExecutorService forwardPool;

    ForwardPasses(LanguageModelData data, List<HookPoint> hooks, TrainingWindows windows, ThreadSettings threads) {
        this.data = data;
        this.hooks = List.copyOf(hooks);
        this.windows = windows;
        this.forwards = threads.forwards();
        this.forwardPool = ThreadSettings.pool(threads.forwards(), threads.lmThreads(), "lm-forward");
    }

    @Override
    public Device device() {
        return data.model().device();
    }

    @Override
    public ActivationProducer.Pass next(NDManager manager) {
        long[][] batch = windows.next();
        return new ActivationProducer.Pass(forwardPool.submit(() -> data.keptActivations(batch, hooks, manager)), data.keptCount(batch),
                windows.state(), windows.windows());
    }

    @Override
    public int ahead() {
        return forwards;
    }

    @Override
    public void close() {
        forwardPool.shutdownNow();
        try {
            forwardPool.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
