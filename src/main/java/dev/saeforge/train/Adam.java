package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.tensor.Torch;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * torch.optim.Adam without weight decay, over named parameters, updated in place:
 * m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;  p ← p - (lr / (1-β1^t)) · m / (√v / √(1-β2^t) + ε).
 * The moments are plain arrays so a checkpoint can save them and a resumed run continue exactly.
 */
public final class Adam implements AutoCloseable {
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

    /** One update of every parameter with its gradient, at learning rate {@code lr}; the gradients are overwritten. */
    public void step(Map<String, NDArray> parameters, Map<String, NDArray> gradients, double lr) {
        steps++;
        double biasCorrection1 = 1 - Math.pow(beta1, steps);
        double sqrtBiasCorrection2 = Math.sqrt(1 - Math.pow(beta2, steps));
        double stepSize = lr / biasCorrection1;
        // The gradient is this step's scratch space: using it in place keeps the step to three fresh
        // arrays per parameter (fewer passes with more of them in place measured slower: an in-place
        // pass over W_enc costs more than a fresh array of its size, which glibc serves from its heap).
        parameters.forEach((name, p) -> {
            NDArray g = gradients.get(name);
            NDArray m = firstMoments.get(name);
            NDArray v = secondMoments.get(name);
            v.muli(beta2).addi(g.square().muli(1 - beta2));
            m.muli(beta1).addi(g.muli(1 - beta1));                           // g is used up from here
            // m / (√v / √(1-β2^t) + ε) = √(1-β2^t) · m / (√v + ε √(1-β2^t)): two passes fewer.
            NDArray denominator = v.sqrt().addi(eps * sqrtBiasCorrection2);
            p.subi(m.div(denominator).muli(stepSize * sqrtBiasCorrection2));
        });
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
