package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.tensor.Torch;

/**
 * Per-latent firing statistics, as SAELens' trainer keeps them: steps since each latent last
 * fired (a latent is dead once that exceeds the dead-feature window), and firing counts over
 * the current feature-sampling window, reset when the window closes.
 */
public final class FeatureStats implements AutoCloseable {
    private final int deadFeatureWindow;
    private final int samplingWindow;
    private final NDManager manager;
    private final NDArray stepsSinceFired;
    private final NDArray windowCounts;
    private final NDArray lastWindowFraction;
    private long windowTokens;
    private long windowSteps;
    private boolean lastWindowComplete;

    public FeatureStats(int dSae, int deadFeatureWindow, int samplingWindow, NDManager parent) {
        this.deadFeatureWindow = deadFeatureWindow;
        this.samplingWindow = samplingWindow;
        this.manager = parent.newSubManager();
        this.stepsSinceFired = manager.zeros(new Shape(dSae), DataType.FLOAT32);
        this.windowCounts = manager.zeros(new Shape(dSae), DataType.FLOAT32);
        this.lastWindowFraction = manager.zeros(new Shape(dSae), DataType.FLOAT32);
    }

    /** Counts one step: {@code firingCounts[i]} is how many of the step's {@code tokens} rows latent i fired on. */
    public void record(NDArray firingCounts, long tokens) {
        NDArray counts = firingCounts.toType(DataType.FLOAT32, false);
        stepsSinceFired.addi(1).muli(counts.eq(0).toType(DataType.FLOAT32, false));
        windowCounts.addi(counts);
        windowTokens += tokens;
        windowSteps++;
        if (windowSteps == samplingWindow) {
            Torch.assign(lastWindowFraction, windowCounts.div(windowTokens));
            windowCounts.muli(0);
            windowTokens = 0;
            windowSteps = 0;
            lastWindowComplete = true;
        }
    }

    /** 1 for latents that have not fired for more than the dead-feature window, else 0. */
    public NDArray deadMask() {
        return stepsSinceFired.gt(deadFeatureWindow).toType(DataType.FLOAT32, false);
    }

    public int deadCount() {
        return (int) stepsSinceFired.gt(deadFeatureWindow).sum().getLong();
    }

    /**
     * Each latent's firing fraction over the current sampling window, or over the last complete
     * one when the current window has just started.
     */
    public NDArray firingFraction() {
        if (windowTokens > 0) {
            return windowCounts.div(windowTokens);
        }
        return lastWindowComplete ? lastWindowFraction.duplicate() : windowCounts.duplicate();
    }

    /**
     * SAELens' metadata.l0: the sum of the latents' firing fractions over the window
     * {@link #firingFraction} covers, i.e. the mean number of latents firing per row there;
     * null before the first step.
     */
    public Double meanL0() {
        if (windowTokens == 0 && !lastWindowComplete) {
            return null;
        }
        try (NDArray fraction = firingFraction(); NDArray sum = fraction.sum()) {
            return (double) sum.getFloat();
        }
    }

    /** SAELens' log feature sparsity: log10(firing fraction + 1e-10), the content of sparsity.safetensors. */
    public NDArray log10Sparsity() {
        return firingFraction().addi(1e-10).log10();
    }

    /** Saved state, by name, for exact resume. */
    public NDArray stepsSinceFired() {
        return stepsSinceFired;
    }

    public NDArray windowCounts() {
        return windowCounts;
    }

    public NDArray lastWindowFraction() {
        return lastWindowFraction;
    }

    public long windowTokens() {
        return windowTokens;
    }

    public long windowSteps() {
        return windowSteps;
    }

    public boolean lastWindowComplete() {
        return lastWindowComplete;
    }

    public void restore(NDArray sinceFired, NDArray counts, NDArray lastFraction, long tokens, long steps, boolean lastComplete) {
        Torch.assign(stepsSinceFired, sinceFired.toType(DataType.FLOAT32, false));
        Torch.assign(windowCounts, counts.toType(DataType.FLOAT32, false));
        Torch.assign(lastWindowFraction, lastFraction.toType(DataType.FLOAT32, false));
        windowTokens = tokens;
        windowSteps = steps;
        lastWindowComplete = lastComplete;
    }

    @Override
    public void close() {
        manager.close();
    }
}
