package dev.saeforge.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;

import java.util.List;
import java.util.Map;

/**
 * The activations of a language model source's held-out windows, in window order, batch after
 * batch, starting over after the last: what the SAE never trained on.
 */
final class HeldOutActivations implements ActivationSource {
    private final LanguageModelActivations source;
    private final List<long[][]> batches;
    private final NDManager manager;
    private NDArray rows;
    private long taken;
    private int nextBatch;

    HeldOutActivations(LanguageModelActivations source) {
        this.source = source;
        this.batches = source.heldOutBatches();
        this.manager = dev.saeforge.tensor.Torch.engine().newBaseManager(source.withModel(model -> model.device()));
    }

    @Override
    public int dIn() {
        return source.dIn();
    }

    @Override
    public NDArray next(NDManager target, int count) {
        while (rows == null || rows.getShape().get(0) < count) {
            long[][] windows = batches.get(nextBatch);
            nextBatch = (nextBatch + 1) % batches.size();
            NDArray more = source.withModel(model -> {
                try (NDScope scope = new NDScope()) {
                    NDArray activations = model.activations(manager.create(windows), source.hook());
                    NDScope.unregister(activations);
                    return activations;
                }
            });
            NDArray joined = rows == null ? more : NDArrays.concat(new NDList(rows, more), 0);
            joined.attach(manager);
            if (rows != null) {
                rows.close();
                more.close();
            }
            rows = joined;
        }
        NDArray out = rows.get(new NDIndex(":" + count)).duplicate();
        NDArray rest = rows.get(new NDIndex(count + ":")).duplicate();
        rows.close();
        rows = rest;
        rest.attach(manager);
        out.attach(target);
        NDScope.register(out);
        taken++;
        return out;
    }

    @Override
    public Map<String, Object> position() {
        return Map.of("batches", taken);
    }

    @Override
    public void seek(Map<String, Object> position) {
        throw new UnsupportedOperationException("the held-out activations are read from their start only");
    }

    @Override
    public ActivationSource heldOut() {
        return this;
    }

    @Override
    public String describe() {
        return "held-out windows of " + source.describe();
    }

    @Override
    public void close() {
        manager.close();
    }
}
