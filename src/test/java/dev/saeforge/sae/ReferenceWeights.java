package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The batch and the four weights of a gradient test's plain-Java float64 reference SAE, with the
 * forward pieces every architecture shares: the pre-activations h = (x - b_dec) W_enc + b_enc
 * (b_dec subtracted only with apply_b_dec_to_input) and the decoder rows' norms. Each test's
 * Reference extends it with its own architecture's loss and gradients.
 */
abstract class ReferenceWeights {
    /** The names of the weights every architecture has, as {@link TrainingSae#gradients()} keys them. */
    static final String[] WEIGHTS = {"W_enc", "W_dec", "b_enc", "b_dec"};
    /** How widely {@link #randomise(Random)} spreads W_enc and W_dec. */
    static final double W_ENC_SCALE = 0.5, W_DEC_SCALE = 0.3;

    final int batchSize, dIn, dSae;
    final boolean applyBDec;
    final double[][] x;
    final double[] wEnc;   // [d_in][d_sae], row-major
    final double[] wDec;   // [d_sae][d_in], row-major
    final double[] bEnc;
    final double[] bDec;

    ReferenceWeights(int batchSize, int dIn, int dSae, boolean applyBDec) {
        this.batchSize = batchSize;
        this.dIn = dIn;
        this.dSae = dSae;
        this.applyBDec = applyBDec;
        this.x = new double[batchSize][dIn];
        this.wEnc = new double[dIn * dSae];
        this.wDec = new double[dSae * dIn];
        this.bEnc = new double[dSae];
        this.bDec = new double[dIn];
    }

    /** The same batch and weights as {@code same}: its arrays, not copies, so a change to one is a change to both. */
    ReferenceWeights(ReferenceWeights same) {
        this.batchSize = same.batchSize;
        this.dIn = same.dIn;
        this.dSae = same.dSae;
        this.applyBDec = same.applyBDec;
        this.x = same.x;
        this.wEnc = same.wEnc;
        this.wDec = same.wDec;
        this.bEnc = same.bEnc;
        this.bDec = same.bDec;
    }

    void randomise(Random r) {
        randomise(r, W_ENC_SCALE, W_DEC_SCALE);
    }

    /**
     * Gaussian values: x with scale 1, the biases 0.2. The draw order (x row by row, W_enc,
     * W_dec, b_enc, b_dec) is part of each test's case: the tests pick seeds whose draws keep
     * clear of selection boundaries and kinks, so it must not change.
     */
    void randomise(Random r, double wEncScale, double wDecScale) {
        for (double[] row : x) {
            fill(row, r, 1.0);
        }
        fill(wEnc, r, wEncScale);
        fill(wDec, r, wDecScale);
        fill(bEnc, r, 0.2);
        fill(bDec, r, 0.2);
    }

    private static void fill(double[] a, Random r, double scale) {
        for (int i = 0; i < a.length; i++) {
            a[i] = scale * r.nextGaussian();
        }
    }

    /** The four weights as DJL arrays in {@code m}, shaped for {@code fromParameters}; a mutable map, for an architecture's further parameters. */
    Map<String, NDArray> weights(NDManager m) {
        return new HashMap<>(Map.of(
                "W_enc", m.create(wEnc, new Shape(dIn, dSae)),
                "W_dec", m.create(wDec, new Shape(dSae, dIn)),
                "b_enc", m.create(bEnc),
                "b_dec", m.create(bDec)));
    }

    /** The array behind a parameter's name: perturbing an entry of it perturbs the reference. */
    double[] parameter(String name) {
        return switch (name) {
            case "W_enc" -> wEnc;
            case "W_dec" -> wDec;
            case "b_enc" -> bEnc;
            case "b_dec" -> bDec;
            default -> throw new IllegalArgumentException("no parameter " + name);
        };
    }

    /** h of row {@code row}, latent {@code i}. */
    double pre(int row, int i) {
        double h = bEnc[i];
        for (int d = 0; d < dIn; d++) {
            h += (x[row][d] - (applyBDec ? bDec[d] : 0)) * wEnc[d * dSae + i];
        }
        return h;
    }

    /** h of the whole batch, [batch][d_sae]. */
    double[][] pre() {
        double[][] h = new double[batchSize][dSae];
        for (int n = 0; n < batchSize; n++) {
            for (int i = 0; i < dSae; i++) {
                h[n][i] = pre(n, i);
            }
        }
        return h;
    }

    /** |W_dec,i|, the L2 norm of decoder row {@code i}. */
    double decoderNorm(int i) {
        double s = 0;
        for (int d = 0; d < dIn; d++) {
            s += wDec[i * dIn + d] * wDec[i * dIn + d];
        }
        return Math.sqrt(s);
    }

    double[] decoderNorms() {
        double[] norms = new double[dSae];
        for (int i = 0; i < dSae; i++) {
            norms[i] = decoderNorm(i);
        }
        return norms;
    }

    /**
     * d loss/d parameter by central differences with step {@code step}, flattened row-major. Each
     * entry is put back exactly after its two evaluations, so the reference ends as it began.
     */
    double[] centralDifferences(String name, double step, DoubleSupplier loss) {
        double[] flat = parameter(name);
        double[] gradient = new double[flat.length];
        for (int i = 0; i < flat.length; i++) {
            double saved = flat[i];
            flat[i] = saved + step;
            double plus = loss.getAsDouble();
            flat[i] = saved - step;
            double minus = loss.getAsDouble();
            flat[i] = saved;
            gradient[i] = (plus - minus) / (2 * step);
        }
        return gradient;
    }

    /**
     * Every entry of {@code actual} within {@code tolerance}·max(|expected|, {@code floor}) of
     * {@code expected}: relative, but absolute for entries smaller than {@code floor}, as the
     * rounding error of a finite difference does not shrink with the entry.
     */
    static void assertRelativelyClose(NDArray actual, double[] expected, double tolerance, double floor, String name) {
        double[] values = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        assertThat(values).as(name).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(values[i]).as(name + "[" + i + "]").isCloseTo(expected[i], within(tolerance * Math.max(Math.abs(expected[i]), floor)));
        }
    }
}
