package dev.saeforge.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Explained variance, MSE and L0 as SAELens defines them, over one batch or accumulated over several. */
class ReconstructionMetricsTest {
    static final float[] ROWS = {1, 2, 3, 4, 5, 6, -1, 0, 2, 2, 0, 8};   // 4 rows of 3

    @Test
    void aPerfectReconstructionExplainsAllVarianceAndTheMeanExplainsNone() {
        try (NDManager manager = Torch.engine().newBaseManager(Device.cpu())) {
            NDArray x = manager.create(ROWS, new Shape(4, 3));
            ReconstructionMetrics perfect = new ReconstructionMetrics(3);
            perfect.add(x, 0, 8);
            assertThat(perfect.explainedVariance()).isEqualTo(1.0);
            assertThat(perfect.mse()).isEqualTo(0.0);
            assertThat(perfect.l0()).isEqualTo(2.0);

            NDArray mean = x.mean(new int[]{0}, true);
            double squaredError = Torch.scalar(x.sub(mean).square().sum());
            ReconstructionMetrics meanOnly = new ReconstructionMetrics(3);
            meanOnly.add(x, squaredError, 0);
            assertThat(meanOnly.explainedVariance()).isCloseTo(0.0, within(1e-12));
            assertThat(meanOnly.mse()).isCloseTo(squaredError / 4, within(1e-12));
        }
    }

    @Test
    void batchesAddUpToTheirUnion() {
        try (NDManager manager = Torch.engine().newBaseManager(Device.cpu())) {
            NDArray x = manager.create(ROWS, new Shape(4, 3));
            ReconstructionMetrics whole = new ReconstructionMetrics(3);
            whole.add(x, 6.0, 5);
            ReconstructionMetrics halves = new ReconstructionMetrics(3);
            halves.add(x.get("0:2"), 2.5, 3);
            halves.add(x.get("2:4"), 3.5, 2);
            assertThat(halves.rows()).isEqualTo(4);
            assertThat(halves.explainedVariance()).isCloseTo(whole.explainedVariance(), within(1e-12));
            assertThat(halves.mse()).isEqualTo(whole.mse());
            assertThat(halves.l0()).isEqualTo(whole.l0());
        }
    }
}
