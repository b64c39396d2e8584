package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static dev.saeforge.sae.ReferenceWeights.assertRelativelyClose;
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

    @ParameterizedTest(name = "L{0} penalty, b_dec subtracted {1}")
    @CsvSource({"1, true", "1, false", "2, true", "2, false"})
    void gradientsAreFiniteDifferencesOfTheLoss(double p, boolean applyBDec) {
        Reference ref = Reference.random(new Random(5), p, applyBDec);
        assertThat(ref.smallestAbsPre()).as("no pre-activation within the margin of ReLU's kink").isGreaterThan(MARGIN);
        assertThat(ref.active()).as("some latents fire, some do not").isBetween(8, N * D_SAE - 8);
        assertThat(ref.rowsWithoutActivity()).as("every row's penalty norm is away from its kink at 0").isZero();

        try (NDManager step = Torch.engine().newBaseManager(); TrainingSae sae = ref.toDjl(step)) {
            TrainingSae.StepOutput out = sae.forwardBackward(step.create(ref.x), new TrainingSae.StepInput(LAMBDA, null));
            Reference.Losses expected = ref.losses();

            assertThat(out.mseLoss().getDouble()).isCloseTo(expected.mse, within(1e-12 * expected.mse));
            assertThat(out.sparsityLoss().getDouble()).isCloseTo(expected.sparsity, within(1e-12 * expected.sparsity));
            assertThat(out.auxiliaryLoss().getDouble()).isZero();
            assertThat(out.totalLoss().getDouble()).isCloseTo(expected.total(), within(1e-12 * expected.total()));
            assertThat(out.firingCounts().toType(DataType.FLOAT64, false).toDoubleArray()).containsExactly(ref.firingCounts());

            Map<String, NDArray> gradients = sae.gradients();
            assertThat(gradients).containsOnlyKeys(ReferenceWeights.WEIGHTS);
            for (String name : ReferenceWeights.WEIGHTS) {
                assertRelativelyClose(gradients.get(name), ref.finiteDifferences(name), TOLERANCE, FLOOR, name);
            }
        }
    }

    /** The standard SAE's loss, written out in plain loops in float64. */
    static final class Reference extends ReferenceWeights {
        final double p;

        private Reference(double p, boolean applyBDec) {
            super(N, D_IN, D_SAE, applyBDec);
            this.p = p;
        }

        static Reference random(Random r, double p, boolean applyBDec) {
            Reference ref = new Reference(p, applyBDec);
            ref.randomise(r);
            return ref;
        }

        TrainingSae toDjl(NDManager m) {
            SaeSpec spec = new SaeSpec();
            spec.architecture = SaeSpec.Architecture.STANDARD;
            spec.dSae = D_SAE;
            spec.lpNorm = p;
            spec.applyBDecToInput = applyBDec;
            return StandardSae.ARCHITECTURE.fromParameters(spec, D_IN, m, weights(m));
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
            return centralDifferences(name, STEP, () -> losses().total());
        }

        static final class Losses {
            double mse, sparsity;

            double total() {
                return mse + sparsity;
            }
        }
    }
}
