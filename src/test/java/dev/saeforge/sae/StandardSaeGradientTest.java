package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The standard SAE's hand-written backward pass is the true gradient of its loss
 * <pre>
 *   mean_n Σ_d (x̂ - x)²  +  λ mean_n ‖ReLU(h) ⊙ |W_dec|‖_p
 * </pre>
 * On a tiny float64 case with no pre-activation near ReLU's kink the loss is smooth, and the DJL
 * gradients of every parameter equal central finite differences of a plain-Java loss to 1e-6.
 */
class StandardSaeGradientTest {
    static final int N = 7, D_IN = 4, D_SAE = 6;
    static final double LAMBDA = 0.3;
    /** Finite-difference step, and how far every pre-activation stays from ReLU's kink. */
    static final double STEP = 1e-6, MARGIN = 1e-3;
    /** Relative tolerance; below FLOOR in size an entry is compared absolutely, to TOLERANCE·FLOOR. */
    static final double TOLERANCE = 1e-6, FLOOR = 1e-2;
    static final String[] PARAMETERS = {"W_enc", "W_dec", "b_enc", "b_dec"};
    static NDManager manager;

    @BeforeAll
    static void engine() {
        manager = Torch.engine().newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    @ParameterizedTest(name = "L{0} penalty, b_dec subtracted {1}")
    @CsvSource({"1, true", "1, false", "2, true", "2, false"})
    void gradientsAreFiniteDifferencesOfTheLoss(double p, boolean applyBDec) {
        Reference ref = Reference.random(new Random(5), p, applyBDec);
        assertThat(ref.smallestAbsPre()).as("no pre-activation within the margin of ReLU's kink").isGreaterThan(MARGIN);
        assertThat(ref.active()).as("some latents fire, some do not").isBetween(8, N * D_SAE - 8);
        assertThat(ref.rowsWithoutActivity()).as("every row's penalty norm is away from its kink at 0").isZero();

        try (NDManager step = manager.newSubManager(); TrainingSae sae = ref.toDjl(step)) {
            TrainingSae.StepOutput out = sae.forwardBackward(step.create(ref.x), new TrainingSae.StepInput(LAMBDA, null));
            Reference.Losses expected = ref.losses();

            assertThat(out.mseLoss().getDouble()).isCloseTo(expected.mse, within(1e-12 * expected.mse));
            assertThat(out.sparsityLoss().getDouble()).isCloseTo(expected.sparsity, within(1e-12 * expected.sparsity));
            assertThat(out.auxiliaryLoss().getDouble()).isZero();
            assertThat(out.totalLoss().getDouble()).isCloseTo(expected.total(), within(1e-12 * expected.total()));
            assertThat(out.firingCounts().toType(DataType.FLOAT64, false).toDoubleArray()).containsExactly(ref.firingCounts());

            Map<String, NDArray> gradients = sae.gradients();
            assertThat(gradients).containsOnlyKeys(PARAMETERS);
            for (String name : PARAMETERS) {
                assertMatches(gradients.get(name), ref.finiteDifferences(name), name);
            }
        }
    }

    private static void assertMatches(NDArray actual, double[] expected, String name) {
        double[] values = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        assertThat(values).as(name).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            double tolerance = TOLERANCE * Math.max(Math.abs(expected[i]), FLOOR);
            assertThat(values[i]).as(name + "[" + i + "]").isCloseTo(expected[i], within(tolerance));
        }
    }

    /** The standard SAE's loss, written out in plain loops in float64. */
    static final class Reference {
        final double p;
        final boolean applyBDec;
        final double[][] x = new double[N][D_IN];
        final double[] wEnc = new double[D_IN * D_SAE];   // [d_in][d_sae]
        final double[] wDec = new double[D_SAE * D_IN];   // [d_sae][d_in]
        final double[] bEnc = new double[D_SAE];
        final double[] bDec = new double[D_IN];

        private Reference(double p, boolean applyBDec) {
            this.p = p;
            this.applyBDec = applyBDec;
        }

        static Reference random(Random r, double p, boolean applyBDec) {
            Reference ref = new Reference(p, applyBDec);
            for (double[] row : ref.x) {
                fill(row, r, 1.0);
            }
            fill(ref.wEnc, r, 0.5);
            fill(ref.wDec, r, 0.3);
            fill(ref.bEnc, r, 0.2);
            fill(ref.bDec, r, 0.2);
            return ref;
        }

        private static void fill(double[] a, Random r, double scale) {
            for (int i = 0; i < a.length; i++) {
                a[i] = scale * r.nextGaussian();
            }
        }

        TrainingSae toDjl(NDManager m) {
            SaeSpec spec = new SaeSpec();
            spec.architecture = SaeSpec.Architecture.STANDARD;
            spec.dSae = D_SAE;
            spec.lpNorm = p;
            spec.applyBDecToInput = applyBDec;
            return StandardSae.ARCHITECTURE.fromParameters(spec, D_IN, m, Map.of(
                    "W_enc", m.create(wEnc, new Shape(D_IN, D_SAE)),
                    "W_dec", m.create(wDec, new Shape(D_SAE, D_IN)),
                    "b_enc", m.create(bEnc),
                    "b_dec", m.create(bDec)));
        }

        double[] parameter(String name) {
            return switch (name) {
                case "W_enc" -> wEnc;
                case "W_dec" -> wDec;
                case "b_enc" -> bEnc;
                default -> bDec;
            };
        }

        double pre(int n, int i) {
            double h = bEnc[i];
            for (int d = 0; d < D_IN; d++) {
                h += (x[n][d] - (applyBDec ? bDec[d] : 0)) * wEnc[d * D_SAE + i];
            }
            return h;
        }

        double decoderNorm(int i) {
            double s = 0;
            for (int d = 0; d < D_IN; d++) {
                s += wDec[i * D_IN + d] * wDec[i * D_IN + d];
            }
            return Math.sqrt(s);
        }

        double smallestAbsPre() {
            double min = Double.POSITIVE_INFINITY;
            for (int n = 0; n < N; n++) {
                for (int i = 0; i < D_SAE; i++) {
                    min = Math.min(min, Math.abs(pre(n, i)));
                }
            }
            return min;
        }

        int active() {
            int count = 0;
            for (double c : firingCounts()) {
                count += (int) c;
            }
            return count;
        }

        double[] firingCounts() {
            double[] counts = new double[D_SAE];
            for (int n = 0; n < N; n++) {
                for (int i = 0; i < D_SAE; i++) {
                    counts[i] += pre(n, i) > 0 ? 1 : 0;
                }
            }
            return counts;
        }

        int rowsWithoutActivity() {
            int rows = 0;
            for (int n = 0; n < N; n++) {
                boolean any = false;
                for (int i = 0; i < D_SAE; i++) {
                    any |= pre(n, i) > 0;
                }
                rows += any ? 0 : 1;
            }
            return rows;
        }

        /** mean_n Σ_d (x̂ - x)² and λ mean_n (Σ_i (ReLU(h_i) |W_dec,i|)^p)^(1/p). */
        Losses losses() {
            Losses losses = new Losses();
            for (int n = 0; n < N; n++) {
                double[] f = new double[D_SAE];
                double lp = 0;
                for (int i = 0; i < D_SAE; i++) {
                    f[i] = Math.max(pre(n, i), 0);
                    lp += Math.pow(f[i] * decoderNorm(i), p);
                }
                losses.sparsity += LAMBDA / N * Math.pow(lp, 1 / p);
                for (int d = 0; d < D_IN; d++) {
                    double xHat = bDec[d];
                    for (int i = 0; i < D_SAE; i++) {
                        xHat += f[i] * wDec[i * D_IN + d];
                    }
                    losses.mse += (xHat - x[n][d]) * (xHat - x[n][d]) / N;
                }
            }
            return losses;
        }

        /** d(total loss)/d(parameter) by central differences, flattened row-major. */
        double[] finiteDifferences(String name) {
            double[] flat = parameter(name);
            double[] gradient = new double[flat.length];
            for (int i = 0; i < flat.length; i++) {
                double saved = flat[i];
                flat[i] = saved + STEP;
                double plus = losses().total();
                flat[i] = saved - STEP;
                double minus = losses().total();
                flat[i] = saved;
                gradient[i] = (plus - minus) / (2 * STEP);
            }
            return gradient;
        }

        static final class Losses {
            double mse, sparsity;

            double total() {
                return mse + sparsity;
            }
        }
    }
}
