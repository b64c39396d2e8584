package dev.saeforge.train;

import ai.djl.ndarray.NDManager;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Dead latents and firing frequencies, counted as SAELens' trainer counts them. */
class FeatureStatsTest {

    @Test
    void aLatentIsDeadOnceItHasNotFiredForMoreThanTheWindow() {
        try (NDManager manager = Torch.engine().newBaseManager(); FeatureStats stats = new FeatureStats(3, 2, 100, manager)) {
            stats.record(manager.create(new float[]{1, 0, 0}), 10);
            stats.record(manager.create(new float[]{0, 0, 4}), 10);
            assertThat(stats.deadCount()).isZero();
            stats.record(manager.create(new float[]{0, 0, 1}), 10);   // latent 1: 3 steps without firing > 2
            assertThat(stats.deadMask().toFloatArray()).containsExactly(0, 1, 0);
            stats.record(manager.create(new float[]{0, 0, 1}), 10);
            assertThat(stats.deadMask().toFloatArray()).containsExactly(1, 1, 0);
            stats.record(manager.create(new float[]{0, 2, 1}), 10);
            assertThat(stats.deadMask().toFloatArray()).containsExactly(1, 0, 0);
        }
    }

    @Test
    void firingFractionsCoverTheCurrentSamplingWindowAndTheLastOneWhenItHasJustClosed() {
        try (NDManager manager = Torch.engine().newBaseManager(); FeatureStats stats = new FeatureStats(2, 1000, 2, manager)) {
            stats.record(manager.create(new float[]{5, 0}), 10);
            assertThat(stats.firingFraction().toFloatArray()).containsExactly(0.5f, 0f);
            stats.record(manager.create(new float[]{1, 10}), 10);   // the window closes: (6/20, 10/20)
            assertThat(stats.firingFraction().toFloatArray()).containsExactly(0.3f, 0.5f);
            assertThat(stats.log10Sparsity().toFloatArray()[1]).isCloseTo((float) Math.log10(0.5 + 1e-10), within(1e-6f));
            stats.record(manager.create(new float[]{10, 0}), 10);   // a new window
            assertThat(stats.firingFraction().toFloatArray()).containsExactly(1f, 0f);
        }
    }
}
