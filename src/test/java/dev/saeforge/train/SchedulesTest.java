package dev.saeforge.train;

import dev.saeforge.api.TrainingSpec.LrScheduler;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The learning rate and L0 coefficient of each step, as torch's schedulers give them in SAELens. */
class SchedulesTest {
    static final double LR = 1e-3;

    @Test
    void constantIsConstant() {
        Schedules.LearningRate s = new Schedules.LearningRate(LR, 10, 0, 0, LR / 10, LrScheduler.CONSTANT, 1);
        for (long t = 0; t < 10; t++) {
            assertThat(s.at(t)).isEqualTo(LR);
        }
    }

    @Test
    void warmUpRisesLinearlyFromOneOverWToOneOverWMinusOneSteps() {
        Schedules.LearningRate s = new Schedules.LearningRate(LR, 10, 4, 0, LR / 10, LrScheduler.CONSTANT, 1);
        assertThat(s.at(0)).isCloseTo(LR * 0.25, within(1e-15));
        assertThat(s.at(1)).isCloseTo(LR * 0.50, within(1e-15));
        assertThat(s.at(2)).isCloseTo(LR * 0.75, within(1e-15));
        assertThat(s.at(3)).isCloseTo(LR, within(1e-15));
        assertThat(s.at(4)).isEqualTo(LR);
        assertThat(new Schedules.LearningRate(LR, 10, 1, 0, LR / 10, LrScheduler.CONSTANT, 1).at(0)).isEqualTo(LR);
    }

    @Test
    void decayAfterAConstantPhaseGoesFromLrToZero() {
        Schedules.LearningRate s = new Schedules.LearningRate(LR, 10, 0, 4, LR / 10, LrScheduler.CONSTANT, 1);
        assertThat(s.at(5)).isEqualTo(LR);
        assertThat(s.at(6)).isCloseTo(LR, within(1e-15));
        assertThat(s.at(7)).isCloseTo(0.75 * LR, within(1e-15));
        assertThat(s.at(8)).isCloseTo(0.50 * LR, within(1e-15));
        assertThat(s.at(9)).isCloseTo(0.25 * LR, within(1e-15));
    }

    @Test
    void cosineAnnealsToLrEndOverTheMainPhaseThenDecaysFromLrEnd() {
        double end = LR / 10;
        Schedules.LearningRate s = new Schedules.LearningRate(LR, 12, 2, 2, end, LrScheduler.COSINE_ANNEALING, 1);
        // main phase: steps 2..9, span 8
        assertThat(s.at(2)).isCloseTo(LR, within(1e-15));
        assertThat(s.at(6)).isCloseTo(end + (LR - end) / 2, within(1e-15));
        assertThat(s.at(9)).isCloseTo(end + (LR - end) * (1 + Math.cos(Math.PI * 7 / 8)) / 2, within(1e-15));
        assertThat(s.at(10)).isCloseTo(end, within(1e-15));
        assertThat(s.at(11)).isCloseTo(end / 2, within(1e-15));
    }

    @Test
    void warmRestartsRestartTheCosineEveryIntegerQuotientOfTheMainPhase() {
        double end = LR / 10;
        // T 14, W 2, D 2: the main phase is steps 2..11, 10 steps, so T_0 = 10 // 3 = 3 and the
        // cosine restarts at steps 2, 5, 8 and 11 (the last cycle is cut short by the decay).
        Schedules.LearningRate s = new Schedules.LearningRate(LR, 14, 2, 2, end, LrScheduler.COSINE_ANNEALING_WARM_RESTARTS, 3);
        double oneThird = end + (LR - end) * (1 + Math.cos(Math.PI / 3)) / 2;
        double twoThirds = end + (LR - end) * (1 + Math.cos(2 * Math.PI / 3)) / 2;
        assertThat(s.at(0)).isCloseTo(LR / 2, within(1e-15));
        assertThat(s.at(1)).isCloseTo(LR, within(1e-15));
        for (long restart : new long[]{2, 5, 8, 11}) {
            assertThat(s.at(restart)).as("step %d", restart).isCloseTo(LR, within(1e-15));
        }
        for (long step : new long[]{3, 6, 9}) {
            assertThat(s.at(step)).as("step %d", step).isCloseTo(oneThird, within(1e-15));
            assertThat(s.at(step + 1)).as("step %d", step + 1).isCloseTo(twoThirds, within(1e-15));
        }
        assertThat(s.at(12)).isCloseTo(end, within(1e-15));
        assertThat(s.at(13)).isCloseTo(end / 2, within(1e-15));
    }

    @Test
    void oneRestartCycleIsPlainCosineAnnealing() {
        double end = LR / 10;
        Schedules.LearningRate restarts = new Schedules.LearningRate(LR, 12, 2, 2, end, LrScheduler.COSINE_ANNEALING_WARM_RESTARTS, 1);
        Schedules.LearningRate cosine = new Schedules.LearningRate(LR, 12, 2, 2, end, LrScheduler.COSINE_ANNEALING, 1);
        for (long t = 0; t < 12; t++) {
            assertThat(restarts.at(t)).as("step %d", t).isEqualTo(cosine.at(t));
        }
    }

    @Test
    void theL0CoefficientWarmsUpFromZero() {
        assertThat(Schedules.sparsityCoefficient(2.0, 0, 0)).isEqualTo(2.0);
        assertThat(Schedules.sparsityCoefficient(2.0, 4, 0)).isZero();
        assertThat(Schedules.sparsityCoefficient(2.0, 4, 2)).isEqualTo(1.0);
        assertThat(Schedules.sparsityCoefficient(2.0, 4, 4)).isEqualTo(2.0);
        assertThat(Schedules.sparsityCoefficient(2.0, 4, 100)).isEqualTo(2.0);
    }

    @Test
    void checkpointsFollowSaeLensCadence() {
        assertThat(Training.checkpointThresholds(3_072_000, 2)).containsExactly(1_024_000L, 2_048_000L);
        assertThat(Training.checkpointThresholds(1_228_800_000, 5)).hasSize(5).first().isEqualTo(204_800_000L);
        assertThat(Training.checkpointThresholds(10, 5)).containsExactly(2L, 4L, 6L, 8L);
        assertThat(Training.checkpointThresholds(1000, 0)).isEmpty();
    }
}
