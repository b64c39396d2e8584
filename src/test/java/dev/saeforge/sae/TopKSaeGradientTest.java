package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.SaeSpec.Architecture;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.saeforge.sae.ReferenceWeights.assertRelativelyClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The TopK family's hand-written backward pass is the true gradient of its loss wherever no
 * selection is about to change:
 * <pre>
 *   h = (x - b_dec) W_enc + b_enc,   s = h ⊙ |W_dec| (rescale_acts_by_decoder_norm) or h
 *   kept: topk the k largest s of each row; batchtopk and matryoshka_batchtopk the ⌊k·N⌋ largest
 *         of the whole batch; in every case only where s > 0
 *   x̂_w = b_dec + Σ_{kept i < w} h_i W_dec,i
 *   loss = mean_n Σ_d (x̂ - x)²                                    x̂ = x̂_{d_sae}
 *        + Σ_{inner widths w} mean_n Σ_d (x̂_w - x)²               matryoshka_batchtopk only
 *        + α min(dead/k_aux, 1) mean_n Σ_d (Σ_{i ∈ A} h_i W_dec,i - (x - x̂))²    AuxK, x - x̂ constant
 * </pre>
 * where k_aux = d_in/2 and A is the min(k_aux, dead) dead latents with the largest s in the row.
 * The decoder norms only choose which latents take part: f/|W_dec| = ReLU(h) on the selection.
 * A plain-Java float64 version of that loss, differentiated by central differences, gives the DJL
 * gradients to 1e-6 on a case whose selections all lie more than 1e-4 from their boundaries.
 * The batch variants also keep a running threshold and save as a JumpReLU SAE.
 */
class TopKSaeGradientTest {
    static final int N = 8, D_IN = 6, D_SAE = 12;
    /** topk keeps 3 per row; the batch variants keep ⌊2.6·8⌋ = 20 of the batch's 96. */
    static final double K = 3, BATCH_K = 2.6;
    static final double AUX_COEFFICIENT = 0.7, THRESHOLD_LR = 0.5;
    static final List<Integer> WIDTHS = List.of(3, 7, D_SAE);
    /** The dead masks: none (no AuxK); two dead (k_aux = 3: scale 2/3, both used); five dead (scale 1, 3 of 5 per row). */
    static final Map<String, int[]> DEAD = Map.of("no", new int[0], "two", new int[]{1, 4}, "five", new int[]{0, 2, 5, 8, 11});
    /** Finite-difference step, and how far every score stays from a selection boundary or ReLU's kink. */
    static final double STEP = 1e-6, MARGIN = 1e-4;
    /** Relative tolerance; below FLOOR in size an entry is compared absolutely, to TOLERANCE·FLOOR. */
    static final double TOLERANCE = 1e-6, FLOOR = 1e-2;
    static final long SEED = 4;

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Architecture architecture : List.of(Architecture.TOPK, Architecture.BATCHTOPK, Architecture.MATRYOSHKA_BATCHTOPK)) {
            for (boolean rescale : new boolean[]{true, false}) {
                for (boolean applyBDec : new boolean[]{true, false}) {
                    for (String dead : List.of("no", "two", "five")) {
                        cases.add(Arguments.of(architecture, rescale, applyBDec, dead));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, rescale by decoder norm {1}, b_dec subtracted {2}, {3} dead latents")
    @MethodSource("cases")
    void gradientsAreFiniteDifferencesOfTheLoss(Architecture architecture, boolean rescale, boolean applyBDec, String deadName) {
        int[] dead = DEAD.get(deadName);
        Reference ref = Reference.random(new Random(SEED), architecture, rescale, applyBDec, dead);
        assertThat(ref.margin()).as("every selection is more than the margin from changing").isGreaterThan(MARGIN);
        assertThat(Arrays.deepEquals(ref.kept(), ref.rescaled(!rescale).kept()))
                .as("the decoder norms change which latents are kept").isFalse();
        if (architecture != Architecture.TOPK) {
            assertThat(IntStream.range(0, N).map(ref::keptInRow).distinct().count())
                    .as("rows keep different numbers of latents").isGreaterThan(1);
        }

        Reference.Losses expected = ref.losses(null);
        if (dead.length > 0) {
            assertThat(expected.aux).as("AuxK takes part").isPositive();
        }
        try (NDManager step = Torch.engine().newBaseManager(); TrainingSae sae = ref.toDjl(step)) {
            NDArray deadMask = dead.length == 0 ? null : step.create(ref.deadMask());
            TrainingSae.StepOutput out = sae.forwardBackward(step.create(ref.x), new TrainingSae.StepInput(0, deadMask));

            assertThat(out.mseLoss().getDouble()).isCloseTo(expected.mse, within(1e-12 * expected.mse));
            assertThat(out.sparsityLoss().getDouble()).isZero();
            assertThat(out.auxiliaryLoss().getDouble()).isCloseTo(expected.inner + expected.aux, within(1e-12 * expected.total()));
            assertThat(out.firingCounts().toType(DataType.FLOAT64, false).toDoubleArray()).containsExactly(ref.firingCounts());

            Map<String, NDArray> gradients = sae.gradients();
            assertThat(gradients).containsOnlyKeys(ReferenceWeights.WEIGHTS);
            for (String name : ReferenceWeights.WEIGHTS) {
                assertRelativelyClose(gradients.get(name), ref.finiteDifferences(name, expected.residual), TOLERANCE, FLOOR, name);
            }
        }
    }

    @ParameterizedTest(name = "{0}, rescale by decoder norm {1}")
    @CsvSource({"BATCHTOPK, true", "BATCHTOPK, false", "MATRYOSHKA_BATCHTOPK, true", "MATRYOSHKA_BATCHTOPK, false"})
    void theBatchVariantsKeepARunningThresholdAndSaveAsJumpRelu(Architecture architecture, boolean rescale) {
        Reference ref = Reference.random(new Random(SEED), architecture, rescale, true, new int[0]);
        double smallestKept = ref.smallestKeptScore();
        // θ₀ = 0, then θ ← (1 - r) θ + r min{f > 0} on each of two steps over the same batch.
        double afterOne = THRESHOLD_LR * smallestKept;
        double afterTwo = (1 - THRESHOLD_LR) * afterOne + THRESHOLD_LR * smallestKept;
        assertThat(ref.scoresBetween(0, afterTwo)).as("the threshold turns off positive scores").isPositive();

        try (NDManager step = Torch.engine().newBaseManager(); TrainingSae sae = ref.toDjl(step)) {
            NDArray x = step.create(ref.x);
            sae.forwardBackward(x, new TrainingSae.StepInput(0, null));
            assertThat(sae.buffers()).containsOnlyKeys("topk_threshold");
            assertThat(sae.buffers().get("topk_threshold").getDouble()).isCloseTo(afterOne, within(1e-12));
            sae.forwardBackward(x, new TrainingSae.StepInput(0, null));
            assertThat(sae.buffers().get("topk_threshold").getDouble()).isCloseTo(afterTwo, within(1e-12));

            // Saved for inference: the decoder norms folded in (when rescaling), θ for every latent.
            Map<String, NDArray> saved = sae.inferenceWeights();
            assertThat(saved).containsOnlyKeys("W_enc", "W_dec", "b_enc", "b_dec", "threshold");
            double[] norms = ref.decoderNorms();
            double[] wEnc = new double[D_IN * D_SAE], wDec = new double[D_SAE * D_IN], bEnc = new double[D_SAE];
            for (int i = 0; i < D_SAE; i++) {
                double scale = rescale ? norms[i] : 1;
                bEnc[i] = ref.bEnc[i] * scale;
                for (int d = 0; d < D_IN; d++) {
                    wEnc[d * D_SAE + i] = ref.wEnc[d * D_SAE + i] * scale;
                    wDec[i * D_IN + d] = ref.wDec[i * D_IN + d] / scale;
                }
            }
            double[] threshold = new double[D_SAE];
            Arrays.fill(threshold, afterTwo);
            assertValues(saved.get("threshold"), threshold, new Shape(D_SAE), "threshold");
            assertValues(saved.get("W_enc"), wEnc, new Shape(D_IN, D_SAE), "W_enc");
            assertValues(saved.get("W_dec"), wDec, new Shape(D_SAE, D_IN), "W_dec");
            assertValues(saved.get("b_enc"), bEnc, new Shape(D_SAE), "b_enc");
            assertValues(saved.get("b_dec"), ref.bDec, new Shape(D_IN), "b_dec");

            // The live SAE's encode and decode are that JumpReLU SAE's: f = ReLU(h')·1[h' > θ], x̂ = f W_dec' + b_dec.
            double[] f = new double[N * D_SAE];
            double[] xHat = new double[N * D_IN];
            for (int n = 0; n < N; n++) {
                for (int i = 0; i < D_SAE; i++) {
                    double h = bEnc[i];
                    for (int d = 0; d < D_IN; d++) {
                        h += (ref.x[n][d] - ref.bDec[d]) * wEnc[d * D_SAE + i];
                    }
                    f[n * D_SAE + i] = h > afterTwo ? Math.max(h, 0) : 0;
                }
                for (int d = 0; d < D_IN; d++) {
                    xHat[n * D_IN + d] = ref.bDec[d];
                    for (int i = 0; i < D_SAE; i++) {
                        xHat[n * D_IN + d] += f[n * D_SAE + i] * wDec[i * D_IN + d];
                    }
                }
            }
            assertThat(Arrays.stream(f).filter(v -> v > 0).count()).as("some latents fire").isPositive();
            assertValues(sae.encode(x), f, new Shape(N, D_SAE), "encode");
            assertValues(sae.decode(step.create(f, new Shape(N, D_SAE))), xHat, new Shape(N, D_IN), "decode");
        }
    }

    private static void assertValues(NDArray actual, double[] expected, Shape shape, String name) {
        assertThat(actual.getShape()).as(name).isEqualTo(shape);
        double[] values = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        for (int i = 0; i < expected.length; i++) {
            assertThat(values[i]).as(name + "[" + i + "]").isCloseTo(expected[i], within(1e-12 * Math.max(1, Math.abs(expected[i]))));
        }
    }

    /** The TopK family's loss, written out in plain loops in float64. */
    static final class Reference extends ReferenceWeights {
        final Architecture architecture;
        final boolean rescale;
        final int[] dead;

        private Reference(Architecture architecture, boolean rescale, boolean applyBDec, int[] dead) {
            super(N, D_IN, D_SAE, applyBDec);
            this.architecture = architecture;
            this.rescale = rescale;
            this.dead = dead;
        }

        private Reference(Reference same, boolean rescale) {
            super(same);
            this.architecture = same.architecture;
            this.rescale = rescale;
            this.dead = same.dead;
        }

        static Reference random(Random r, Architecture architecture, boolean rescale, boolean applyBDec, int[] dead) {
            Reference ref = new Reference(architecture, rescale, applyBDec, dead);
            ref.randomise(r);
            return ref;
        }

        /** The same SAE and batch with rescale_acts_by_decoder_norm set to {@code rescale}. */
        Reference rescaled(boolean rescale) {
            return new Reference(this, rescale);
        }

        TrainingSae toDjl(NDManager m) {
            SaeSpec spec = new SaeSpec();
            spec.architecture = architecture;
            spec.dSae = D_SAE;
            spec.k = architecture == Architecture.TOPK ? K : BATCH_K;
            spec.auxLossCoefficient = AUX_COEFFICIENT;
            spec.rescaleActsByDecoderNorm = rescale;
            spec.applyBDecToInput = applyBDec;
            Map<String, NDArray> values = weights(m);
            if (architecture != Architecture.TOPK) {
                spec.topkThresholdLr = THRESHOLD_LR;
                values.put("topk_threshold", m.create(0.0));
            }
            if (architecture == Architecture.MATRYOSHKA_BATCHTOPK) {
                spec.matryoshkaWidths = WIDTHS;
            }
            return SaeArchitectures.of(architecture).fromParameters(spec, D_IN, m, values);
        }

        double[] deadMask() {
            double[] mask = new double[D_SAE];
            for (int i : dead) {
                mask[i] = 1;
            }
            return mask;
        }

        /** s = h ⊙ |W_dec|, or h. */
        double[][] scores() {
            double[][] s = pre();
            double[] norms = decoderNorms();
            for (double[] row : s) {
                for (int i = 0; i < D_SAE; i++) {
                    row[i] *= rescale ? norms[i] : 1;
                }
            }
            return s;
        }

        /** Which latents each row keeps: the k best of the row (topk) or the ⌊k·N⌋ best of the batch, where s > 0. */
        boolean[][] kept() {
            double[][] s = scores();
            boolean[][] kept = new boolean[N][D_SAE];
            if (architecture == Architecture.TOPK) {
                for (int n = 0; n < N; n++) {
                    for (int i : best(s[n], D_SAE, (int) K)) {
                        kept[n][i] = s[n][i] > 0;
                    }
                }
            } else {
                double[] flat = Arrays.stream(s).flatMapToDouble(Arrays::stream).toArray();
                for (int j : best(flat, flat.length, (int) (BATCH_K * N))) {
                    kept[j / D_SAE][j % D_SAE] = flat[j] > 0;
                }
            }
            return kept;
        }

        /** The AuxK latents of each row: the min(k_aux, dead) dead latents with the largest s. */
        boolean[][] auxKept() {
            double[][] s = scores();
            boolean[][] kept = new boolean[N][D_SAE];
            for (int n = 0; n < N; n++) {
                double[] deadScores = new double[dead.length];
                for (int j = 0; j < dead.length; j++) {
                    deadScores[j] = s[n][dead[j]];
                }
                for (int j : best(deadScores, dead.length, Math.min(D_IN / 2, dead.length))) {
                    kept[n][dead[j]] = true;
                }
            }
            return kept;
        }

        /** Indices of the {@code k} largest of the first {@code length} values. */
        private static int[] best(double[] values, int length, int k) {
            return IntStream.range(0, length).boxed()
                    .sorted(Comparator.comparingDouble((Integer j) -> values[j]).reversed())
                    .limit(k).mapToInt(Integer::intValue).toArray();
        }

        /** The k-th largest minus the (k+1)-th of {@code values}, or +∞ when all are taken. */
        private static double gap(double[] values, int k) {
            if (k >= values.length) {
                return Double.POSITIVE_INFINITY;
            }
            double[] sorted = values.clone();
            Arrays.sort(sorted);
            return sorted[sorted.length - k] - sorted[sorted.length - k - 1];
        }

        /** How far the scores are from changing any selection: a cut, ReLU's kink, or AuxK's cut. */
        double margin() {
            double[][] s = scores();
            double margin = Double.POSITIVE_INFINITY;
            for (double[] row : s) {
                for (double v : row) {
                    margin = Math.min(margin, Math.abs(v));
                }
                if (architecture == Architecture.TOPK) {
                    margin = Math.min(margin, gap(row, (int) K));
                }
                double[] deadScores = Arrays.stream(dead).mapToDouble(i -> row[i]).toArray();
                margin = Math.min(margin, gap(deadScores, Math.min(D_IN / 2, dead.length)));
            }
            if (architecture != Architecture.TOPK) {
                margin = Math.min(margin, gap(Arrays.stream(s).flatMapToDouble(Arrays::stream).toArray(), (int) (BATCH_K * N)));
            }
            return margin;
        }

        int keptInRow(int n) {
            boolean[] row = kept()[n];
            return (int) IntStream.range(0, D_SAE).filter(i -> row[i]).count();
        }

        double[] firingCounts() {
            boolean[][] kept = kept();
            double[] counts = new double[D_SAE];
            for (boolean[] row : kept) {
                for (int i = 0; i < D_SAE; i++) {
                    counts[i] += row[i] ? 1 : 0;
                }
            }
            return counts;
        }

        /** min{f > 0}: the smallest score the batch keeps. */
        double smallestKeptScore() {
            double[][] s = scores();
            boolean[][] kept = kept();
            double min = Double.POSITIVE_INFINITY;
            for (int n = 0; n < N; n++) {
                for (int i = 0; i < D_SAE; i++) {
                    if (kept[n][i]) {
                        min = Math.min(min, s[n][i]);
                    }
                }
            }
            return min;
        }

        long scoresBetween(double low, double high) {
            return Arrays.stream(scores()).flatMapToDouble(Arrays::stream).filter(v -> low < v && v <= high).count();
        }

        /**
         * The loss terms at the current parameters. AuxK fits {@code frozenResidual} when given
         * (the residual x - x̂ of the unperturbed SAE, a constant to the loss), else x - x̂.
         */
        Losses losses(double[][] frozenResidual) {
            double[][] h = pre();
            boolean[][] kept = kept();
            List<Integer> widths = architecture == Architecture.MATRYOSHKA_BATCHTOPK ? WIDTHS : List.of(D_SAE);
            Losses out = new Losses();
            for (int level = 0; level < widths.size(); level++) {
                int width = widths.get(level);
                double mse = 0;
                for (int n = 0; n < N; n++) {
                    for (int d = 0; d < D_IN; d++) {
                        double xHat = bDec[d];
                        for (int i = 0; i < width; i++) {
                            xHat += kept[n][i] ? h[n][i] * wDec[i * D_IN + d] : 0;
                        }
                        mse += (xHat - x[n][d]) * (xHat - x[n][d]) / N;
                        out.residual[n][d] = x[n][d] - xHat;
                    }
                }
                if (level == widths.size() - 1) {
                    out.mse = mse;
                } else {
                    out.inner += mse;
                }
            }
            if (dead.length > 0) {
                double[][] residual = frozenResidual != null ? frozenResidual : out.residual;
                boolean[][] aux = auxKept();
                double scale = Math.min((double) dead.length / (D_IN / 2), 1);
                for (int n = 0; n < N; n++) {
                    for (int d = 0; d < D_IN; d++) {
                        double recons = 0;
                        for (int i = 0; i < D_SAE; i++) {
                            recons += aux[n][i] ? h[n][i] * wDec[i * D_IN + d] : 0;
                        }
                        double difference = recons - residual[n][d];
                        out.aux += AUX_COEFFICIENT * scale * difference * difference / N;
                    }
                }
            }
            return out;
        }

        /** d(total loss)/d(parameter) by central differences, flattened row-major, AuxK's residual held at {@code residual}. */
        double[] finiteDifferences(String name, double[][] residual) {
            return centralDifferences(name, STEP, () -> losses(residual).total());
        }

        static final class Losses {
            double mse, inner, aux;
            final double[][] residual = new double[N][D_IN];

            double total() {
                return mse + inner + aux;
            }
        }
    }
}
