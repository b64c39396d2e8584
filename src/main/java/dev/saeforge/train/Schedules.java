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
     * to 1 over W-1 steps), the main phase (constant, cosine annealing to lr_end over T-W-D
     * steps, or cosine annealing with warm restarts every (T-W-D) // n_restart_cycles steps), and
     * an optional linear decay over the last D steps from lr_end to 0 (from lr when the main phase
     * is constant).
     */
    public record LearningRate(double lr, long totalSteps, long warmUpSteps, long decaySteps, double lrEnd,
                               TrainingSpec.LrScheduler main, int restartCycles) {

        public static LearningRate of(TrainingSpec training) {
            return new LearningRate(training.lr, training.totalSteps(), training.lrWarmUpSteps, training.lrDecaySteps,
                    training.lrEnd, training.lrScheduler, training.nRestartCycles);
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
                    yield cosine(t - w, span);
                }
                case COSINE_ANNEALING_WARM_RESTARTS -> {
                    // torch's CosineAnnealingWarmRestarts with T_mult 1: the cosine restarts from lr
                    // every T_0 steps, T_0 the integer quotient SAELens passes.
                    long cycle = (totalSteps - w - d) / restartCycles;
                    yield cosine((t - w) % cycle, cycle);
                }
            };
        }

        /** Cosine annealing from lr to lr_end over {@code span} steps, at step {@code t} of it. */
        private double cosine(long t, long span) {
            return lrEnd + (lr - lrEnd) * (1 + Math.cos(Math.PI * t / span)) / 2;
        }
    }

    /** The L0 coefficient of step t: λ·min(t, W)/W with a warm-up of W steps, λ without one. */
    public static double sparsityCoefficient(double coefficient, long warmUpSteps, long t) {
        return warmUpSteps == 0 ? coefficient : coefficient * Math.min(t, warmUpSteps) / warmUpSteps;
    }
}
