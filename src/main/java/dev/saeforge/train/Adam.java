package dev.saeforge.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.tensor.Torch;
import dev.saeforge.tensor.TorchScript;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * torch.optim.Adam without weight decay, over named parameters, updated in place:
 * m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;  p ← p - (lr / (1-β1^t)) · m / (√v / √(1-β2^t) + ε).
 * The moments are plain arrays so a checkpoint can save them and a resumed run continue exactly.
 */
public final class Adam implements AutoCloseable {
    static final String PROGRAM = "dev/saeforge/train/adam.py";
    private static final Map<Device, TorchScript> PROGRAMS = new ConcurrentHashMap<>();
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final NDManager manager;
    private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
    private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
    private long steps;

    public Adam(Map<String, NDArray> parameters, double beta1, double beta2, double eps, NDManager parent) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.manager = parent.newSubManager();
        parameters.forEach((name, p) -> {
            firstMoments.put(name, manager.zeros(p.getShape(), p.getDataType()));
            secondMoments.put(name, manager.zeros(p.getShape(), p.getDataType()));
        });
    }

    /**
     * One update of every parameter with its gradient, at learning rate {@code lr}, by torch's fused
     * Adam kernel ({@code dev/saeforge/train/adam.py}): one pass per parameter that reads p, g, m
     * and v and writes p, m and v, allocating nothing. Composed of DJL's element-wise operations the
     * same update took twelve passes and three fresh arrays per parameter.
     */
    public void step(Map<String, NDArray> parameters, Map<String, NDArray> gradients, double lr) {
        steps++;
        List<NDArray> ps = new ArrayList<>();
        List<NDArray> gs = new ArrayList<>();
        List<NDArray> ms = new ArrayList<>();
        List<NDArray> vs = new ArrayList<>();
        parameters.forEach((name, p) -> {
            ps.add(p);
            gs.add(gradients.get(name));
            ms.add(firstMoments.get(name));
            vs.add(secondMoments.get(name));
        });
        Device device = ps.get(0).getDevice();
        try (NDArray count = manager.create((float) steps).toDevice(device, false)) {
            program(device).call("step").tensors(ps).tensors(gs).tensors(ms).tensors(vs).tensors(Collections.nCopies(ps.size(), count))
                    .real(lr).real(beta1).real(beta2).real(eps).returningNothing();
        }
    }

    private static TorchScript program(Device device) {
        return PROGRAMS.computeIfAbsent(device, d -> TorchScript.load(PROGRAM, d));
    }

    /** Updates taken so far (torch's per-parameter "step"). */
    public long steps() {
        return steps;
    }

    public Map<String, NDArray> firstMoments() {
        return firstMoments;
    }

    public Map<String, NDArray> secondMoments() {
        return secondMoments;
    }

    /** Restores the state a checkpoint saved: the step count and both moments of every parameter. */
    public void restore(long steps, Map<String, NDArray> first, Map<String, NDArray> second) {
        this.steps = steps;
        copyInto(firstMoments, first, "first moment");
        copyInto(secondMoments, second, "second moment");
    }

    private static void copyInto(Map<String, NDArray> target, Map<String, NDArray> source, String what) {
        target.forEach((name, array) -> {
            NDArray saved = source.get(name);
            if (saved == null || !saved.getShape().equals(array.getShape())) {
                throw new IllegalArgumentException("Adam " + what + " of " + name + " is "
                        + (saved == null ? "missing" : "of shape " + saved.getShape() + ", expected " + array.getShape()));
            }
            Torch.assign(array, saved.toType(array.getDataType(), false));
        });
    }

    @Override
    public void close() {
        manager.close();
    }
}
