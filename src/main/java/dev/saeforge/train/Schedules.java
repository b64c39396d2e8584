package dev.saeforge.train;

import dev.saeforge.api.TrainingSpec;

/**
 * SAELens' schedules as closed forms of the step index t (0-based), so a resumed run needs only
 * the step to be on schedule.
 */
public final class Schedules {
    private Schedules() {
    }

    /**
     * The learning rate of step t: SAELens' SequentialLR of an optional linear warm-up (factor 1/W
     * to 1 over W-1 steps), the main phase (constant, or cosine annealing to lr_end over
     * T-W-D steps), and an optional linear decay over the last D steps from lr_end to 0 (from lr
     * when the main phase is constant).
     */
    public record LearningRate(double lr, long totalSteps, long warmUpSteps, long decaySteps, double lrEnd,
                               TrainingSpec.LrScheduler main) {

        public static LearningRate of(TrainingSpec training) {
            return new LearningRate(training.lr, training.totalSteps(), training.lrWarmUpSteps, training.lrDecaySteps,
                    training.lrEnd, training.lrScheduler);
        }

        public double at(long t) {
            long w = warmUpSteps;
            long d = decaySteps;
            if (t < w) {
                double start = 1.0 / w;
                return w == 1 ? lr : lr * (start + (1 - start) * t / (w - 1));
            }
            if (d > 0 && t >= totalSteps - d) {
                double from = main == TrainingSpec.LrScheduler.CONSTANT ? lr : lrEnd;
                return from * (1 - (double) Math.min(t - (totalSteps - d), d) / d);
            }
            return switch (main) {
                case CONSTANT -> lr;
                case COSINE_ANNEALING -> {
                    long span = totalSteps - w - d;
                    yield lrEnd + (lr - lrEnd) * (1 + Math.cos(Math.PI * (t - w) / span)) / 2;
                }
            };
        }
    }

    /** The L0 coefficient of step t: λ·min(t, W)/W with a warm-up of W steps, λ without one. */
    public static double sparsityCoefficient(double coefficient, long warmUpSteps, long t) {
        return warmUpSteps == 0 ? coefficient : coefficient * Math.min(t, warmUpSteps) / warmUpSteps;
    }
}
