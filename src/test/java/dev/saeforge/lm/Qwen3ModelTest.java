package dev.saeforge.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.tensor.Precision;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The forward program against {@link ReferenceQwen3}, a float64 loop implementation written
 * from the transformers semantics: in float32 every hook point of every layer and the logits
 * agree to 1e-4 of the tensor's largest magnitude, for a batch of different windows; bfloat16 and
 * float16 agree to their own rounding.
 */
class Qwen3ModelTest {
    static final double TOLERANCE = 1e-4;
    static final int BATCH = 3;
    static final int LENGTH = 11;

    @TempDir
    Path dir;
    NDManager manager;

    @BeforeEach
    void open() {
        manager = Torch.engine().newBaseManager(Device.cpu());
    }

    @AfterEach
    void close() {
        manager.close();
    }

    static Stream<Arguments> checkpoints() {
        List<Arguments> all = new ArrayList<>();
        for (boolean tied : new boolean[]{true, false}) {
            for (Safetensors.Dtype dtype : new Safetensors.Dtype[]{Safetensors.Dtype.BF16, Safetensors.Dtype.F32}) {
                for (int shards : new int[]{1, 3}) {
                    all.add(Arguments.of(tied, dtype, shards));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "tied={0} {1} shards={2}")
    @MethodSource("checkpoints")
    void everyHookAndTheLogitsMatchTheFloat64Reference(boolean tied, Safetensors.Dtype dtype, int shards) throws IOException {
        TinyQwen3.Options options = TinyQwen3.Options.defaults().withTied(tied).withDtype(dtype).withShards(shards).withSeed(7);
        Qwen3Config config = TinyQwen3.write(dir, options);
        long[][] windows = randomWindows(config.vocabSize(), 11);
        ReferenceQwen3 reference = new ReferenceQwen3(dir);
        List<Map<String, double[][]>> expected = new ArrayList<>();
        for (long[] window : windows) {
            expected.add(reference.run(window));
        }

        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            NDArray tokens = manager.create(windows);
            for (int layer = 0; layer < config.numLayers(); layer++) {
                for (HookPoint.Site site : HookPoint.Site.values()) {
                    HookPoint hook = new HookPoint(layer, site);
                    NDArray actual = model.activations(tokens, hook);
                    assertThat(actual.getShape()).isEqualTo(new Shape(BATCH * LENGTH, hook.width(config)));
                    assertThat(actual.getDataType()).isEqualTo(DataType.FLOAT32);
                    assertClose(hook.toString(), actual.toFloatArray(), rows(expected, hook.toString()));
                }
            }
            NDArray logits = model.logits(tokens);
            assertThat(logits.getShape()).isEqualTo(new Shape(BATCH, LENGTH, config.vocabSize()));
            assertClose("logits", logits.toFloatArray(), rows(expected, "logits"));
        }
    }

    @Test
    void aReplacementAtEachHookChangesTheLogitsAsTheReferenceDoes() throws IOException {
        Qwen3Config config = TinyQwen3.write(dir, TinyQwen3.Options.defaults().withSeed(3));
        long[][] windows = randomWindows(config.vocabSize(), 5);
        ReferenceQwen3 reference = new ReferenceQwen3(dir);
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            NDArray tokens = manager.create(windows);
            for (HookPoint.Site site : HookPoint.Site.values()) {
                HookPoint hook = new HookPoint(0, site);
                // An affine map stands in for an SAE reconstruction: it moves every activation.
                NDArray logits = model.logits(tokens, hook, x -> x.mul(0.5f).add(0.25f));
                List<Map<String, double[][]>> expected = new ArrayList<>();
                for (long[] window : windows) {
                    expected.add(reference.run(window, hook.toString(), x -> affine(x, 0.5, 0.25)));
                }
                assertClose(hook + " replaced", logits.toFloatArray(), rows(expected, "logits"));
            }
            NDArray clean = model.logits(tokens);
            NDArray ablated = model.logits(tokens, HookPoint.parse("blocks.1.hook_mlp_out"), NDArray::zerosLike);
            assertThat(ablated.sub(clean).abs().max().getFloat()).as("zero ablation changes the logits").isGreaterThan(1e-2f);
        }
    }

    @Test
    void float16ComputeStaysCloseToTheReference() throws IOException {
        Qwen3Config config = TinyQwen3.write(dir, TinyQwen3.Options.defaults().withSeed(5));
        long[][] windows = randomWindows(config.vocabSize(), 5);
        ReferenceQwen3 reference = new ReferenceQwen3(dir);
        List<Map<String, double[][]>> expected = new ArrayList<>();
        for (long[] window : windows) {
            expected.add(reference.run(window));
        }
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT16)) {
            NDArray tokens = manager.create(windows);
            HookPoint hook = HookPoint.parse("blocks.1.hook_resid_post");
            NDArray actual = model.activations(tokens, hook);
            assertThat(actual.getDataType()).isEqualTo(DataType.FLOAT32);
            // float16 keeps 11 significant bits: agreement to a few parts in a thousand.
            assertWithin(hook.toString(), actual.toFloatArray(), rows(expected, hook.toString()), 1e-2);
        }
    }

    /**
     * The float64 reference runs the same bfloat16 weights, so what differs is the rounding of the
     * bfloat16 computation alone. bfloat16 keeps 8 significant bits: each value the forward stores
     * (a projection's output, a norm's, a residual sum; about ten per layer in sequence) is off by
     * at most u = 2^-8 = 3.9e-3 of itself, uniformly, so by u/sqrt(3) = 2.3e-3 RMS. Independent
     * errors add in quadrature: after 4 layers, about sqrt(40) * 2.3e-3 = 1.4e-2 relative RMS at the
     * last hooks, less at the first. The bound, 3e-2 = 8u, leaves a factor of two for what the
     * norms and the attention softmax amplify. A float32 forward would stay near 1e-7, far below
     * the floor asserted here, so the test also shows that the computation did run in bfloat16.
     */
    @Test
    void bfloat16ComputeStaysWithinItsRoundingOfTheFloat64ForwardOfTheSameWeights() throws IOException {
        TinyQwen3.Options options = new TinyQwen3.Options(4, 128, 256, 4, 2, 32, 300, true, 11, Safetensors.Dtype.BF16, 1);
        Qwen3Config config = TinyQwen3.write(dir, options);
        long[][] windows = randomWindows(config.vocabSize(), 13);
        ReferenceQwen3 reference = new ReferenceQwen3(dir);
        List<Map<String, double[][]>> expected = new ArrayList<>();
        for (long[] window : windows) {
            expected.add(reference.run(window));
        }
        double worst = 0;
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.BFLOAT16)) {
            assertThat(model.precision()).isEqualTo(Precision.BFLOAT16);
            NDArray tokens = manager.create(windows);
            for (int layer = 0; layer < config.numLayers(); layer++) {
                for (HookPoint.Site site : HookPoint.Site.values()) {
                    HookPoint hook = new HookPoint(layer, site);
                    NDArray actual = model.activations(tokens, hook);
                    assertThat(actual.getDataType()).as("activations leave the program as float32").isEqualTo(DataType.FLOAT32);
                    double error = relativeRms(actual.toFloatArray(), rows(expected, hook.toString()));
                    assertThat(error).as(hook + " relative RMS error").isLessThanOrEqualTo(3e-2);
                    worst = Math.max(worst, error);
                }
            }
        }
        assertThat(worst).as("the largest error of a bfloat16 forward is of bfloat16's order, not float32's").isGreaterThan(1e-3);
    }

    @Test
    void oneForwardPassGivesSeveralHooksEachAsItsOwnPassWould() throws IOException {
        Qwen3Config config = TinyQwen3.write(dir, TinyQwen3.Options.defaults().withSeed(4));
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            NDArray tokens = manager.create(randomWindows(config.vocabSize(), 8));
            List<HookPoint> hooks = List.of(HookPoint.parse("blocks.1.hook_mlp_out"), HookPoint.parse("blocks.0.hook_resid_pre"),
                    HookPoint.parse("blocks.1.mlp.hook_post"), HookPoint.parse("blocks.1.hook_mlp_out"));

            List<NDArray> together = model.activations(tokens, hooks);

            assertThat(together).hasSize(hooks.size());
            for (int i = 0; i < hooks.size(); i++) {
                assertThat(together.get(i).toFloatArray()).as(hooks.get(i).toString())
                        .containsExactly(model.activations(tokens, hooks.get(i)).toFloatArray());
            }
        }
    }

    @Test
    void theSplicedLossesAreTheCrossEntropyAndKlOfTheSplicedLogits() throws IOException {
        Qwen3Config config = TinyQwen3.write(dir, TinyQwen3.Options.defaults().withSeed(6).withTied(false));
        HookPoint hook = HookPoint.parse("blocks.0.hook_resid_mid");
        UnaryOperator<NDArray> affine = x -> x.mul(0.5f).add(0.25f);
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            NDArray tokens = manager.create(randomWindows(config.vocabSize(), 9));

            Qwen3Model.SplicedLosses losses = model.losses(tokens, hook, List.of(affine, NDArray::zerosLike));

            NDArray clean = model.logits(tokens).logSoftmax(-1);
            List<NDArray> spliced = List.of(model.logits(tokens, hook, affine).logSoftmax(-1),
                    model.logits(tokens, hook, NDArray::zerosLike).logSoftmax(-1));
            assertThat(losses.predictedTokens()).isEqualTo(BATCH * (LENGTH - 1));
            assertThat(losses.tokens()).isEqualTo(BATCH * LENGTH);
            assertThat(losses.crossEntropy()[0]).isCloseTo(crossEntropySum(clean, tokens), within(1e-4 * losses.crossEntropy()[0]));
            for (int i = 0; i < spliced.size(); i++) {
                NDArray logP = spliced.get(i);
                double kl = clean.exp().mul(clean.sub(logP)).sum().toType(DataType.FLOAT64, false).getDouble();
                assertThat(losses.crossEntropy()[i + 1]).isCloseTo(crossEntropySum(logP, tokens), within(1e-4 * losses.crossEntropy()[i + 1]));
                assertThat(losses.kl()[i + 1]).isCloseTo(kl, within(1e-4 * kl));
            }
            assertThat(losses.kl()[2]).as("zero ablation moves the distribution").isGreaterThan(1e-2);
        }
    }

    /** Σ over windows and positions t < T-1 of -log p(token t+1), from log-probabilities [B, T, V]. */
    private static double crossEntropySum(NDArray logProbabilities, NDArray tokens) {
        double sum = 0;
        float[] logP = logProbabilities.toFloatArray();
        long[] ids = tokens.toLongArray();
        int vocab = (int) logProbabilities.getShape().get(2);
        for (int b = 0; b < BATCH; b++) {
            for (int t = 0; t + 1 < LENGTH; t++) {
                sum -= logP[(b * LENGTH + t) * vocab + (int) ids[b * LENGTH + t + 1]];
            }
        }
        return sum;
    }

    @Test
    void aFloat16OverflowStopsThePassNamingTheLayerTheHookAndThePrecision() throws IOException {
        Qwen3Config config = TinyQwen3.write(dir, TinyQwen3.Options.defaults().withDtype(Safetensors.Dtype.F32));
        // An MLP whose output reaches ~1e6: beyond float16's largest finite value, 65504; nothing to bfloat16 or float32.
        TinyCheckpoints.scaleTensor(dir.resolve("model.safetensors"), Qwen3Weights.layerKey(0, "mlp.down_proj"), 1e5f);
        HookPoint hook = HookPoint.parse("blocks.1.hook_resid_post");
        long[][] windows = randomWindows(config.vocabSize(), 10);
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT16)) {
            assertThatThrownBy(() -> model.activations(manager.create(windows), hook))
                    .isInstanceOf(NonFiniteActivationException.class)
                    .hasMessage("the float16 forward pass produced non-finite values (inf or NaN) in layer 0 (blocks.0) on its way to "
                            + "blocks.1.hook_resid_post; float16 overflows on Qwen3's large activations: compute in bfloat16 or float32 "
                            + "instead (spec.model.dtype, or --dtype)");
        }
        for (Precision wide : new Precision[]{Precision.BFLOAT16, Precision.FLOAT32}) {
            try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), wide)) {
                float[] values = model.activations(manager.create(windows), hook).toFloatArray();
                float largest = 0;
                for (float v : values) {
                    assertThat(Float.isFinite(v)).as(wide + " stays finite").isTrue();
                    largest = Math.max(largest, Math.abs(v));
                }
                assertThat(largest).as(wide + " carries what float16 cannot").isGreaterThan(65504f);
            }
        }
    }

    @Test
    void aForwardToAnEarlyHookLoadsOnlyTheLayersItNeedsAndTheTailIsReleasedAfterUse() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults().withTied(false));
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            NDArray tokens = manager.create(new long[][]{{1, 2, 3}});
            assertThat(model.loadedLayers()).isZero();
            float[] before = model.activations(tokens, HookPoint.parse("blocks.0.hook_mlp_out")).toFloatArray();
            assertThat(model.loadedLayers()).isEqualTo(1);
            assertThat(model.headLoaded()).isFalse();
            float[] logits = model.logits(tokens).toFloatArray();
            assertThat(model.loadedLayers()).isEqualTo(2);
            assertThat(model.headLoaded()).isTrue();

            model.releaseLayersAfter(0);

            assertThat(model.loadedLayers()).isEqualTo(1);
            assertThat(model.headLoaded()).isFalse();
            assertThat(model.activations(tokens, HookPoint.parse("blocks.0.hook_mlp_out")).toFloatArray()).containsExactly(before);
            assertThat(model.logits(tokens).toFloatArray()).as("loaded again when needed").containsExactly(logits);
        }
    }

    @Test
    void withoutAPrecisionTheCheckpointsTorchDtypeIsUsed() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults().withDtype(Safetensors.Dtype.BF16));
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), null)) {
            assertThat(model.precision()).isEqualTo(Precision.BFLOAT16);
        }
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"torch_dtype\" : \"bfloat16\"", "\"torch_dtype\" : \"float16\""));
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), null)) {
            assertThat(model.precision()).isEqualTo(Precision.FLOAT16);
        }
        Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"torch_dtype\" : \"float16\",", ""));
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), null)) {
            assertThat(model.precision()).as("config.json names none").isEqualTo(Precision.FLOAT32);
        }
    }

    /**
     * Qwen3-0.6B's shapes (28 layers, hidden 1024, 16 query heads of 128, 8 kv heads, vocab
     * 151936) as saeforge model init-tiny writes them, bf16 in two shards: the float32 forward to
     * the last layer agrees with the float64 reference at every hook of that layer.
     */
    @Test
    void aQwen3SmallShapedModelAgreesWithTheReferenceAtEveryHookOfItsLastLayer() throws IOException {
        TinyQwen3.Options options = new TinyQwen3.Options(28, 1024, 3072, 16, 8, 128, 151936, true, 1, Safetensors.Dtype.BF16, 2);
        Qwen3Config config = TinyQwen3.write(dir, options);
        long[][] windows = new long[1][];
        windows[0] = randomWindows(config.vocabSize(), 12)[0];
        Map<String, double[][]> expected = new ReferenceQwen3(dir).run(windows[0], config.numLayers());
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            List<HookPoint> hooks = new ArrayList<>();
            for (HookPoint.Site site : HookPoint.Site.values()) {
                hooks.add(new HookPoint(27, site));
            }
            List<NDArray> actual = model.activations(manager.create(windows), hooks);
            for (int i = 0; i < hooks.size(); i++) {
                String hook = hooks.get(i).toString();
                assertClose(hook, actual.get(i).toFloatArray(), rows(List.of(expected), hook));
            }
        }
    }

    @Test
    void aHookBeyondTheDepthSaysHowManyLayersTheModelHas() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            NDArray tokens = manager.create(new long[][]{{1, 2}});
            assertThatThrownBy(() -> model.activations(tokens, HookPoint.parse("blocks.2.hook_resid_post")))
                    .isInstanceOf(InvalidModelException.class)
                    .hasMessage("hook blocks.2.hook_resid_post needs layer 2, but " + dir + " has 2 layers (blocks.0 to blocks.1)");
        }
    }

    @Test
    void tokensOutsideTheVocabularyAreRefused() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            assertThatThrownBy(() -> model.activations(manager.create(new long[][]{{1, 300}}), HookPoint.parse("blocks.0.hook_resid_pre")))
                    .hasMessageContaining("token id 300 is outside the vocabulary").hasMessageContaining("vocab_size 300");
            assertThatThrownBy(() -> model.logits(manager.create(new long[]{1, 2})))
                    .hasMessageContaining("tokens must be windows [batch, length], got shape (2)");
        }
    }

    static long[][] randomWindows(int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[][] windows = new long[BATCH][LENGTH];
        for (long[] window : windows) {
            for (int t = 0; t < LENGTH; t++) {
                window[t] = random.nextInt(vocab);
            }
        }
        return windows;
    }

    /** The reference activation of every window, stacked in the model's [B*T, width] order. */
    static double[] rows(List<Map<String, double[][]>> perWindow, String name) {
        int width = perWindow.get(0).get(name)[0].length;
        double[] out = new double[perWindow.size() * LENGTH * width];
        int i = 0;
        for (Map<String, double[][]> window : perWindow) {
            for (double[] row : window.get(name)) {
                for (double v : row) {
                    out[i++] = v;
                }
            }
        }
        return out;
    }

    static void assertClose(String what, float[] actual, double[] expected) {
        assertWithin(what, actual, expected, TOLERANCE);
    }

    /** ||actual - expected|| / ||expected||, Euclidean norms over every element. */
    static double relativeRms(float[] actual, double[] expected) {
        assertThat(actual).hasSize(expected.length);
        double error = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            error += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        assertThat(norm).as("not all zeros").isGreaterThan(1e-6);
        return Math.sqrt(error / norm);
    }

    /** max |actual - expected| <= tolerance * max |expected|. */
    static void assertWithin(String what, float[] actual, double[] expected, double tolerance) {
        assertThat(actual).as(what + " size").hasSize(expected.length);
        double scale = 0;
        double error = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            error = Math.max(error, Math.abs(actual[i] - expected[i]));
        }
        assertThat(scale).as(what + " is not all zeros").isGreaterThan(1e-3);
        assertThat(error / scale).as(what + ": max error relative to max |value| " + scale).isLessThanOrEqualTo(tolerance);
    }

    private static double[][] affine(double[][] x, double scale, double shift) {
        double[][] out = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            for (int i = 0; i < x[0].length; i++) {
                out[t][i] = x[t][i] * scale + shift;
            }
        }
        return out;
    }

    @Test
    void forwardPassesOnSeveralThreadsAtOnceGiveWhatOneThreadGives() throws Exception {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        HookPoint hook = HookPoint.parse("blocks.1.hook_mlp_out");
        List<long[][]> inputs = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 8; i++) {
            long[][] windows = new long[BATCH][LENGTH];
            for (long[] window : windows) {
                for (int t = 0; t < LENGTH; t++) {
                    window[t] = random.nextInt(300);
                }
            }
            inputs.add(windows);
        }
        List<float[]> sequential = new ArrayList<>();
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            for (long[][] windows : inputs) {
                try (NDScope scope = new NDScope()) {
                    sequential.add(model.activations(manager.create(windows), hook).toFloatArray());
                }
            }
        }
        // A fresh model, so that the threads also race to load its layers.
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(4);
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), Precision.FLOAT32)) {
            List<java.util.concurrent.Future<float[]>> results = new ArrayList<>();
            for (long[][] windows : inputs) {
                results.add(threads.submit(() -> {
                    try (NDScope scope = new NDScope()) {
                        return model.activations(manager.create(windows), hook).toFloatArray();
                    }
                }));
            }
            for (int i = 0; i < inputs.size(); i++) {
                assertThat(results.get(i).get()).as("window batch " + i).containsExactly(sequential.get(i));
            }
        } finally {
            threads.shutdown();
        }
    }
}
