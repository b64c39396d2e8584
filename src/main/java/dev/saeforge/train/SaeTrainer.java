package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.tensor.NativeMemory;

import dev.saeforge.tensor.Torch;

import java.util.Map;

/**
 * One SAE training step, as SAELens' SAETrainer takes it: forward and backward, the global
 * gradient-norm clip at 1.0, an Adam step at the scheduled learning rate, the threshold
 * projection, and the firing statistics. Nothing is read back to Java except one scalar that
 * guards against non-finite input and divergence.
 */
public final class SaeTrainer implements AutoCloseable {
    /** SAELens clips the global gradient norm to this, hard-coded. */
    static final double MAX_GRADIENT_NORM = 1.0;
    /** How often freed native memory goes back to the system: rarely enough to cost nothing. */
    static final long RELEASE_NATIVE_MEMORY_NANOS = 10_000_000_000L;

    private final TrainingSae sae;
    private final Adam adam;
    private final FeatureStats stats;
    private final Schedules.LearningRate learningRate;
    private final double sparsityCoefficient;
    private final long sparsityWarmUpSteps;
    private final boolean needsDeadMask;
    private final double activationScale;
    private long step;
    private long tokens;

    public SaeTrainer(TrainingSae sae, Adam adam, FeatureStats stats, Schedules.LearningRate learningRate,
                      double sparsityCoefficient, long sparsityWarmUpSteps, boolean needsDeadMask, double activationScale) {
        this.sae = sae;
        this.adam = adam;
        this.stats = stats;
        this.learningRate = learningRate;
        this.sparsityCoefficient = sparsityCoefficient;
        this.sparsityWarmUpSteps = sparsityWarmUpSteps;
        this.needsDeadMask = needsDeadMask;
        this.activationScale = activationScale;
    }

    /** What a step left behind for metrics: its (scaled) input and outputs, valid until the step's scope closes. */
    public record Step(long index, NDArray input, TrainingSae.StepOutput output, double lr, double sparsityCoefficient,
                       double seconds) {
    }

    /** The step's input was not finite, or its loss became non-finite: nothing was updated. */
    public static final class NonFiniteException extends RuntimeException {
        public final long step;
        public final boolean inInput;

        NonFiniteException(long step, boolean inInput, String message) {
            super(message);
            this.step = step;
            this.inInput = inInput;
        }
    }

    /** Trains on one batch of raw activations [N, d_in]. */
    public Step step(NDArray batch) {
        long start = System.nanoTime();
        NDArray x = activationScale == 1.0 ? batch : batch.mul(activationScale);
        double coefficient = Schedules.sparsityCoefficient(sparsityCoefficient, sparsityWarmUpSteps, step);
        TrainingSae.StepOutput out = sae.forwardBackward(x, new TrainingSae.StepInput(coefficient, needsDeadMask ? stats.deadMask() : null));
        guardFinite(x, out);
        clipGradientNorm(sae.gradients(), MAX_GRADIENT_NORM);
        double lr = learningRate.at(step);
        adam.step(sae.parameters(), sae.gradients(), lr);
        sae.afterOptimizerStep();
        long rows = batch.getShape().get(0);
        stats.record(out.firingCounts(), rows);
        Step done = new Step(step, x, out, lr, coefficient, (System.nanoTime() - start) / 1e9);
        NativeMemory.releaseAtMostEvery(RELEASE_NATIVE_MEMORY_NANOS);
        step++;
        tokens += rows;
        return done;
    }

    private void guardFinite(NDArray x, TrainingSae.StepOutput out) {
        NDArray inputSum = x.sum();
        double check = Torch.scalar(inputSum.add(out.totalLoss()));
        if (Double.isFinite(check)) {
            return;
        }
        long nan = x.isNaN().sum().getLong();
        long infinite = x.isInfinite().sum().getLong();
        if (nan + infinite > 0) {
            throw new NonFiniteException(step, true, "step " + step + ": the activations hold " + nan + " NaN and "
                    + infinite + " infinite values");
        }
        throw new NonFiniteException(step, false, "step " + step + ": the loss became non-finite (mse "
                + Torch.scalar(out.mseLoss()) + ", sparsity " + Torch.scalar(out.sparsityLoss()) + "); the learning rate "
                + learningRate.at(step) + " may be too high");
    }

    /** torch.nn.utils.clip_grad_norm_: scale every gradient by min(1, max / (‖g‖ + 1e-6)), ‖g‖ over all of them. */
    static void clipGradientNorm(Map<String, NDArray> gradients, double maxNorm) {
        NDArray[] norms = gradients.values().stream().map(NDArray::norm).toArray(NDArray[]::new);
        NDArray total = NDArrays.stack(new ai.djl.ndarray.NDList(norms)).norm();
        NDArray coefficient = total.addi(1e-6).pow(-1).muli(maxNorm).minimum(1.0);
        gradients.values().forEach(g -> g.muli(coefficient));
    }

    /** Reads a step's metrics back: the SAELens per-step logs, computed on the scaled batch. */
    public Metrics metrics(Step step, String saeName, String hook) {
        NDArray x = step.input();
        long n = x.getShape().get(0);
        double mse = Torch.scalar(step.output().mseLoss());
        double sparsity = Torch.scalar(step.output().sparsityLoss());
        double auxiliary = Torch.scalar(step.output().auxiliaryLoss());
        ReconstructionMetrics batch = new ReconstructionMetrics((int) x.getShape().get(1));
        batch.add(x, mse * n, Torch.scalar(step.output().firingCounts().sum()));
        double explainedVariance = batch.explainedVariance();
        double l0 = batch.l0();
        return new Metrics(saeName, hook, step.index() + 1, tokens, mse + sparsity + auxiliary, mse, sparsity, auxiliary,
                explainedVariance, l0, stats.deadCount(), step.lr(), step.sparsityCoefficient(), step.seconds());
    }

    public long stepsDone() {
        return step;
    }

    public long tokensDone() {
        return tokens;
    }

    /** Puts the counters back where a checkpoint left them (Adam and the statistics restore their own state). */
    public void restoreCounters(long steps, long tokensTrained) {
        this.step = steps;
        this.tokens = tokensTrained;
    }

    @Override
    public void close() {
        adam.close();
        stats.close();
    }
}
