package dev.saeforge.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The DJL forward pass against {@link ReferenceQwen3}, a float64 loop implementation written
 * from the transformers semantics: every hook point of every layer and the logits agree to
 * 1e-4 of the tensor's largest magnitude, for a batch of different windows.
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

        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), DataType.FLOAT32)) {
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
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), DataType.FLOAT32)) {
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
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), DataType.FLOAT16)) {
            NDArray tokens = manager.create(windows);
            HookPoint hook = HookPoint.parse("blocks.1.hook_resid_post");
            NDArray actual = model.activations(tokens, hook);
            assertThat(actual.getDataType()).isEqualTo(DataType.FLOAT32);
            // float16 keeps 11 significant bits: agreement to a few parts in a thousand.
            assertWithin(hook.toString(), actual.toFloatArray(), rows(expected, hook.toString()), 1e-2);
        }
    }

    @Test
    void aForwardToAnEarlyHookLoadsOnlyTheLayersItNeeds() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults().withTied(false));
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), DataType.FLOAT32)) {
            assertThat(model.loadedLayers()).isZero();
            model.activations(manager.create(new long[][]{{1, 2, 3}}), HookPoint.parse("blocks.0.hook_mlp_out"));
            assertThat(model.loadedLayers()).isEqualTo(1);
            model.logits(manager.create(new long[][]{{1, 2, 3}}));
            assertThat(model.loadedLayers()).isEqualTo(2);
        }
    }

    @Test
    void aHookBeyondTheDepthSaysHowManyLayersTheModelHas() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), DataType.FLOAT32)) {
            NDArray tokens = manager.create(new long[][]{{1, 2}});
            assertThatThrownBy(() -> model.activations(tokens, HookPoint.parse("blocks.2.hook_resid_post")))
                    .isInstanceOf(InvalidModelException.class)
                    .hasMessage("hook blocks.2.hook_resid_post needs layer 2, but " + dir + " has 2 layers (blocks.0 to blocks.1)");
        }
    }

    @Test
    void tokensOutsideTheVocabularyAreRefused() throws IOException {
        TinyQwen3.write(dir, TinyQwen3.Options.defaults());
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), DataType.FLOAT32)) {
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
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), DataType.FLOAT32)) {
            for (long[][] windows : inputs) {
                try (NDScope scope = new NDScope()) {
                    sequential.add(model.activations(manager.create(windows), hook).toFloatArray());
                }
            }
        }
        // A fresh model, so that the threads also race to load its layers.
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(4);
        try (Qwen3Model model = Qwen3Model.load(dir, Device.cpu(), DataType.FLOAT32)) {
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
