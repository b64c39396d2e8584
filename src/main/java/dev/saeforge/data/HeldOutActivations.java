package dev.saeforge.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.tensor.Torch;

import ai.djl.ndarray.index.NDIndex;

import java.util.ArrayList;

import java.util.List;

/**
 * The activations of a language model's held-out windows at the stream's hooks, in window order,
 * batch after batch, starting over after the last: what the SAEs never trained on.
 */
final class HeldOutActivations extends HeldOutStream {
    private final LanguageModelData data;
    private final List<HookPoint> hooks;
    private final String training;
    private final List<long[][]> batches;
    private final NDManager manager;
    private List<NDArray> rows;
    private int nextBatch;

    HeldOutActivations(LanguageModelData data, List<HookPoint> hooks, String training) {
        this.data = data;
        this.hooks = hooks;
        this.training = training;
        this.batches = data.heldOutBatches();
        this.manager = Torch.engine().newBaseManager(data.model().device());
    }

    @Override
    public List<String> hooks() {
        return hooks.stream().map(HookPoint::toString).toList();
    }

    @Override
    public int dIn(String hook) {
        return HookPoint.parse(hook).width(data.model().config());
    }

    @Override
    public NDList next(NDManager target, int count) {
        while (rows == null || rows.get(0).getShape().get(0) < count) {
            long[][] windows = batches.get(nextBatch);
            nextBatch = (nextBatch + 1) % batches.size();
            List<NDArray> more;
            try (NDScope scope = new NDScope()) {
                more = data.keptActivations(windows, hooks, manager);
                more.forEach(NDScope::unregister);
            }
            List<NDArray> joined = new ArrayList<>();
            for (int h = 0; h < hooks.size(); h++) {
                NDArray all = rows == null ? more.get(h) : NDArrays.concat(new NDList(rows.get(h), more.get(h)), 0);
                all.attach(manager);
                if (rows != null) {
                    rows.get(h).close();
                    more.get(h).close();
                }
                joined.add(all);
            }
            rows = joined;
        }
        NDList out = new NDList();
        List<NDArray> rest = new ArrayList<>();
        for (NDArray hookRows : rows) {
            NDArray batch = hookRows.get(new NDIndex(":" + count)).duplicate();
            NDArray left = hookRows.get(new NDIndex(count + ":")).duplicate();
            hookRows.close();
            left.attach(manager);
            rest.add(left);
            batch.attach(target);
            NDScope.register(batch);
            out.add(batch);
        }
        rows = rest;
        served();
        return out;
    }

    @Override
    public String describe() {
        return "held-out windows of " + training;
    }

    @Override
    public void close() {
        manager.close();
    }
}
