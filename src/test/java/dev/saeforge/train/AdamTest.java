package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Adam and the gradient clip behave as torch.optim.Adam and clip_grad_norm_ do. */
class AdamTest {

    @Test
    void threeStepsMatchTorchsUpdateRule() {
        double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        double[] p = {1.0, -2.0, 0.5};
        double[][] grads = {{0.5, 0.1, -3.0}, {0.4, -0.2, 0.0}, {-0.1, 0.3, 1e-9}};
        double[] m = new double[3];
        double[] v = new double[3];
        try (NDManager manager = Torch.engine().newBaseManager()) {
            NDArray param = manager.create(p.clone());
            Adam adam = new Adam(Map.of("p", param), beta1, beta2, eps, manager);
            for (int t = 1; t <= grads.length; t++) {
                adam.step(Map.of("p", param), Map.of("p", manager.create(grads[t - 1])), lr);
                for (int i = 0; i < p.length; i++) {
                    double g = grads[t - 1][i];
                    m[i] = beta1 * m[i] + (1 - beta1) * g;
                    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                    double denominator = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(beta2, t)) + eps;
                    p[i] -= lr / (1 - Math.pow(beta1, t)) * m[i] / denominator;
                }
                double[] actual = param.toDoubleArray();
                for (int i = 0; i < p.length; i++) {
                    assertThat(actual[i]).as("step " + t + " p[" + i + "]").isCloseTo(p[i], within(1e-12));
                }
            }
            assertThat(adam.steps()).isEqualTo(3);
        }
    }

    @Test
    void theGlobalGradientNormIsClippedToOne() {
        try (NDManager manager = Torch.engine().newBaseManager()) {
            Map<String, NDArray> large = Map.of("a", manager.create(new double[]{3, 0}), "b", manager.create(new double[]{4}));
            SaeTrainer.clipGradientNorm(large, 1.0);
            double scale = 1 / (5 + 1e-6);
            assertThat(large.get("a").toDoubleArray()).containsExactly(new double[]{3 * scale, 0}, within(1e-12));
            assertThat(large.get("b").toDoubleArray()).containsExactly(new double[]{4 * scale}, within(1e-12));

            Map<String, NDArray> small = Map.of("a", manager.create(new double[]{0.3, 0.4}));
            SaeTrainer.clipGradientNorm(small, 1.0);
            assertThat(small.get("a").toDoubleArray()).containsExactly(0.3, 0.4);
        }
    }
}
