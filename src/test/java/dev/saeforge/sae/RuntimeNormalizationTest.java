package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.SaeSpec.ActivationNormalization;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * SAELens' run-time normalisations (SAE.run_time_activation_norm_fn_in/out) on small arrays worked
 * out by hand, and an SAE that uses one: its MSE is that of the de-normalised reconstruction
 * against the raw input, as SAELens' training_forward_pass computes it, and its gradients are
 * that loss's finite differences.
 */
class RuntimeNormalizationTest {
    static final int N = 5, D_IN = 4, D_SAE = 6;

    @Test
    void constantNormRescaleGivesEveryTokenTheNormRootDIn() {
        try (NDManager m = Torch.engine().newBaseManager()) {
            // ‖(3, 4)‖ = 5, so x' = x·√2/5 and the output is multiplied back by 5/√2.
            NDArray x = m.create(new double[][]{{3, 4}, {0, -2}});
            RuntimeNormalization.Batch batch = RuntimeNormalization.of(ActivationNormalization.CONSTANT_NORM_RESCALE, x);

            assertClose(batch.input(), new double[][]{{3 * Math.sqrt(2) / 5, 4 * Math.sqrt(2) / 5}, {0, -Math.sqrt(2)}});
            assertClose(batch.output(m.create(new double[][]{{1, 1}, {1, 1}})),
                    new double[][]{{5 / Math.sqrt(2), 5 / Math.sqrt(2)}, {Math.sqrt(2), Math.sqrt(2)}});
        }
    }

    @Test
    void layerNormStandardisesWithTheUnbiasedStdPlusEpsAndDeStandardisesWithoutIt() {
        try (NDManager m = Torch.engine().newBaseManager()) {
            // (1, 2, 3, 6): μ = 3, centred (-2, -1, 0, 3), Σ² = 14, σ = √(14/3) (torch.std divides by d_in - 1).
            NDArray x = m.create(new double[][]{{1, 2, 3, 6}});
            double sigma = Math.sqrt(14.0 / 3);
            double d = sigma + 1e-5;
            RuntimeNormalization.Batch batch = RuntimeNormalization.of(ActivationNormalization.LAYER_NORM, x);

            assertClose(batch.input(), new double[][]{{-2 / d, -1 / d, 0, 3 / d}});
            assertClose(batch.output(m.create(new double[][]{{1, 0, -1, 2}})), new double[][]{{sigma + 3, 3, 3 - sigma, 2 * sigma + 3}});
        }
    }

    @ParameterizedTest
    @EnumSource(value = ActivationNormalization.class, names = {"NONE", "EXPECTED_AVERAGE_ONLY_IN"})
    void theOtherModesPassTheBatchThrough(ActivationNormalization mode) {
        try (NDManager m = Torch.engine().newBaseManager()) {
            NDArray x = m.create(new double[][]{{3, 4}});
            RuntimeNormalization.Batch batch = RuntimeNormalization.of(mode, x);
            assertThat(batch.isIdentity()).isTrue();
            assertThat(batch.input()).isSameAs(x);
        }
    }

    @ParameterizedTest
    @EnumSource(value = ActivationNormalization.class, names = {"CONSTANT_NORM_RESCALE", "LAYER_NORM"})
    void theStandardSaesLossIsInTheRawUnitsAndItsGradientsAreItsFiniteDifferences(ActivationNormalization mode) {
        Random r = new Random(11);
        double[][] x = gaussian(r, N, D_IN, 3.0);
        Map<String, double[][]> w = new LinkedHashMap<>();
        w.put("W_enc", gaussian(r, D_IN, D_SAE, 0.5));
        w.put("W_dec", gaussian(r, D_SAE, D_IN, 0.3));
        w.put("b_enc", gaussian(r, 1, D_SAE, 0.2));
        w.put("b_dec", gaussian(r, 1, D_IN, 0.2));

        try (NDManager m = Torch.engine().newBaseManager(); TrainingSae sae = standard(mode, w, m)) {
            TrainingSae.StepOutput out = sae.forwardBackward(m.create(x), new TrainingSae.StepInput(0, null));

            assertThat(out.mseLoss().getDouble()).isCloseTo(rawMse(mode, x, w), within(1e-12));
            for (String name : w.keySet()) {
                double[] gradient = sae.gradients().get(name).toDoubleArray();
                double[][] values = w.get(name);
                int cols = values[0].length;
                for (int i = 0; i < gradient.length; i++) {
                    double[] row = values[i / cols];
                    double kept = row[i % cols];
                    row[i % cols] = kept + 1e-6;
                    double up = rawMse(mode, x, w);
                    row[i % cols] = kept - 1e-6;
                    double down = rawMse(mode, x, w);
                    row[i % cols] = kept;
                    assertThat(gradient[i]).as(name + "[" + i + "]").isCloseTo((up - down) / 2e-6, within(1e-5));
                }
            }
        }
    }

    /** mean_n Σ_d (x̂ - x)², x̂ de-normalised from the SAE's reconstruction of the normalised x, all by hand. */
    static double rawMse(ActivationNormalization mode, double[][] x, Map<String, double[][]> w) {
        double mse = 0;
        for (double[] row : x) {
            double mean = 0;
            for (double v : row) {
                mean += v;
            }
            mean /= D_IN;
            double sumSquares = 0;
            double centredSquares = 0;
            for (double v : row) {
                sumSquares += v * v;
                centredSquares += (v - mean) * (v - mean);
            }
            double std = Math.sqrt(centredSquares / (D_IN - 1));
            double[] in = new double[D_IN];
            for (int d = 0; d < D_IN; d++) {
                in[d] = mode == ActivationNormalization.LAYER_NORM ? (row[d] - mean) / (std + 1e-5) : row[d] * Math.sqrt(D_IN) / Math.sqrt(sumSquares);
            }
            double[] f = new double[D_SAE];
            for (int i = 0; i < D_SAE; i++) {
                double h = w.get("b_enc")[0][i];
                for (int d = 0; d < D_IN; d++) {
                    h += (in[d] - w.get("b_dec")[0][d]) * w.get("W_enc")[d][i];
                }
                f[i] = Math.max(h, 0);
            }
            for (int d = 0; d < D_IN; d++) {
                double out = w.get("b_dec")[0][d];
                for (int i = 0; i < D_SAE; i++) {
                    out += f[i] * w.get("W_dec")[i][d];
                }
                double raw = mode == ActivationNormalization.LAYER_NORM ? out * std + mean : out * Math.sqrt(sumSquares) / Math.sqrt(D_IN);
                mse += (raw - row[d]) * (raw - row[d]) / x.length;
            }
        }
        return mse;
    }

    static TrainingSae standard(ActivationNormalization mode, Map<String, double[][]> w, NDManager m) {
        SaeSpec spec = new SaeSpec();
        spec.architecture = SaeSpec.Architecture.STANDARD;
        spec.dSae = D_SAE;
        spec.normalizeActivations = mode;
        Map<String, NDArray> values = new LinkedHashMap<>();
        values.put("W_enc", m.create(w.get("W_enc")));
        values.put("W_dec", m.create(w.get("W_dec")));
        values.put("b_enc", m.create(w.get("b_enc")[0]));
        values.put("b_dec", m.create(w.get("b_dec")[0]));
        return StandardSae.ARCHITECTURE.fromParameters(spec, D_IN, m, values);
    }

    static double[][] gaussian(Random r, int rows, int cols, double scale) {
        double[][] out = new double[rows][cols];
        for (double[] row : out) {
            for (int i = 0; i < cols; i++) {
                row[i] = r.nextGaussian() * scale;
            }
        }
        return out;
    }

    static void assertClose(NDArray actual, double[][] expected) {
        double[] values = actual.toDoubleArray();
        int cols = expected[0].length;
        for (int i = 0; i < values.length; i++) {
            assertThat(values[i]).as("element %d", i).isCloseTo(expected[i / cols][i % cols], within(1e-12));
        }
    }
}
