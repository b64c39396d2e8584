package dev.saeforge.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.Qwen3Model;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A language model's forward passes over the training windows, as an activation stream's passes:
 * the next storeBatchSizePrompts windows packed on the caller's thread, run to the deepest hook on
 * a pool of forward threads, and their kept rows ({@link KeptRows}) per hook returned.
 */
final class ForwardPasses implements ActivationProducer.Passes {
    private final Qwen3Model model;
    private final List<HookPoint> hooks;
    private final TrainingWindows windows;
    private final KeptRows kept;
    private final int forwards;
    private final ExecutorService forwardPool;

    ForwardPasses(Qwen3Model model, List<HookPoint> hooks, TrainingWindows windows, KeptRows kept, ThreadSettings threads) {
        this.model = model;
        this.hooks = List.copyOf(hooks);
        this.windows = windows;
        this.kept = kept;
        this.forwards = threads.forwards();
        this.forwardPool = ThreadSettings.pool(threads.forwards(), threads.lmThreads(), "lm-forward");
    }

    @Override
    public Device device() {
        return model.device();
    }

    @Override
    public ActivationProducer.Pass next(NDManager manager) {
        long[][] batch = windows.next();
        return new ActivationProducer.Pass(forwardPool.submit(() -> forward(batch, manager)), kept.count(batch), windows.state(),
                windows.windows());
    }

    @Override
    public int ahead() {
        return forwards;
    }

    /** One forward pass: the windows to the deepest hook, their kept rows per hook, in {@code target}. */
    private List<NDArray> forward(long[][] batch, NDManager target) {
        NDArray tokens = target.create(batch);
        try {
            return model.activations(tokens, hooks).stream().map(rows -> kept.select(rows, batch)).toList();
        } finally {
            tokens.close();
        }
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
