package dev.saeforge.lm;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How close the forward pass to a hook comes to the speed of its matrix products alone. The
 * bound is 2 * (parameters of the projections run) * tokens floating-point operations at the
 * rate bare matrix products of exactly those shapes reach in this process; the ratio is the bound's
 * time over the forward's. The two are timed alternately and each is reported at its best run (as
 * timeit does), so that load from other processes, which only ever slows a run down, hits both
 * alike; the medians are reported beside.
 */
public final class ForwardBenchmark {
    /** threads: libtorch's intra-op threads, 0 to leave its default (one per core). */
    public record Settings(TinyQwen3.Options model, HookPoint hook, int batch, int contextSize, int repetitions, int threads) {
        public Settings {
            if (batch < 1 || contextSize < 1 || repetitions < 1 || threads < 0) {
                throw new IllegalArgumentException("batch, context size and repetitions must be >= 1 and threads >= 0; got "
                        + batch + ", " + contextSize + ", " + repetitions + ", " + threads);
            }
        }

        /** A ~100M-parameter Qwen3-shaped model (q width 1024 != hidden 768, as on Qwen3-0.6B) to its last layer. */
        public static Settings defaults() {
            TinyQwen3.Options model = new TinyQwen3.Options(12, 768, 2304, 8, 4, 128, 16384, true, 0,
                    Safetensors.Dtype.BF16, 1);
            return new Settings(model, new HookPoint(11, HookPoint.Site.RESID_POST), 4, 256, 5, 0);
        }
    }

    /**
     * Seconds of each repetition, forward and bare products alternating; the figures use the best
     * of each, the medians show how much other load there was.
     */
    public record Result(Settings settings, int threads, long parameters, long matmulParameters, int tokens,
                         double[] forwardRuns, double[] matmulRuns) {
        public double forwardSeconds() {
            return Arrays.stream(forwardRuns).min().orElseThrow();
        }

        public double matmulSeconds() {
            return Arrays.stream(matmulRuns).min().orElseThrow();
        }

        public double forwardMedianSeconds() {
            return median(forwardRuns);
        }

        public double matmulMedianSeconds() {
            return median(matmulRuns);
        }

        public double tokensPerSecond() {
            return tokens / forwardSeconds();
        }

        /** Tokens per second if the forward pass cost only its matrix products at the bare rate. */
        public double boundTokensPerSecond() {
            return tokens / matmulSeconds();
        }

        public double matmulGflops() {
            return 2.0 * matmulParameters * tokens / matmulSeconds() / 1e9;
        }

        public double ratio() {
            return matmulSeconds() / forwardSeconds();
        }
    }

    private ForwardBenchmark() {
    }

    /** Writes the model into {@code workDir}, loads it on the CPU in float32 and measures; the first repetition is a warm-up. */
    public static Result run(Settings settings, Path workDir) throws IOException {
        Qwen3Config config = TinyQwen3.write(workDir, settings.model());
        settings.hook().checkAgainst(config, "the benchmark model");
        List<long[]> shapes = projectionShapes(config, settings.hook());
        long matmulParameters = shapes.stream().mapToLong(s -> s[0] * s[1]).sum();
        if (shapes.isEmpty()) {
            throw new IllegalArgumentException("the forward pass to " + settings.hook() + " computes no matrix products; choose a later hook");
        }
        int tokens = settings.batch() * settings.contextSize();
        Engine engine = Torch.engine();
        if (settings.threads() > 0) {
            JniUtils.setNumThreads(settings.threads());
        }
        try (Qwen3Model model = Qwen3Model.load(workDir, Device.cpu(), DataType.FLOAT32);
             NDManager manager = engine.newBaseManager(Device.cpu())) {
            engine.setRandomSeed((int) settings.model().seed());
            NDArray windows = manager.randomInteger(0, config.vocabSize(), new Shape(settings.batch(), settings.contextSize()), DataType.INT64);
            List<NDArray> weights = new ArrayList<>();
            for (long[] shape : shapes) {
                weights.add(manager.randomNormal(new Shape(shape)));
            }
            Map<Long, NDArray> inputs = new HashMap<>();
            for (long[] shape : shapes) {
                inputs.computeIfAbsent(shape[1], in -> manager.randomNormal(new Shape(tokens, in)));
            }
            double[] forward = new double[settings.repetitions()];
            double[] matmul = new double[settings.repetitions()];
            for (int rep = -1; rep < settings.repetitions(); rep++) {
                double f = time(() -> model.activations(windows, settings.hook()));
                double m = time(() -> {
                    NDArray last = null;
                    for (NDArray w : weights) {
                        last = new Linear(w).forward(inputs.get(w.getShape().get(1)));
                    }
                    return last;
                });
                if (rep >= 0) {
                    forward[rep] = f;
                    matmul[rep] = m;
                }
            }
            return new Result(settings, JniUtils.getNumThreads(), config.parameters(), matmulParameters, tokens, forward, matmul);
        }
    }

    /**
     * [out, in] of every matrix product of weights the forward pass to {@code hook} computes, layer
     * by layer, as the model runs them: q/k/v as one product, gate/up as one.
     */
    static List<long[]> projectionShapes(Qwen3Config c, HookPoint hook) {
        List<long[]> shapes = new ArrayList<>();
        long h = c.hiddenSize();
        for (int layer = 0; layer <= hook.layer(); layer++) {
            boolean last = layer == hook.layer();
            if (last && hook.site() == HookPoint.Site.RESID_PRE) {
                break;
            }
            shapes.add(new long[]{c.queryWidth() + 2L * c.kvWidth(), h});
            shapes.add(new long[]{h, c.queryWidth()});
            if (last && (hook.site() == HookPoint.Site.ATTN_OUT || hook.site() == HookPoint.Site.RESID_MID)) {
                break;
            }
            shapes.add(new long[]{2L * c.intermediateSize(), h});
            if (last && hook.site() == HookPoint.Site.MLP_POST) {
                break;
            }
            shapes.add(new long[]{h, c.intermediateSize()});
        }
        return shapes;
    }

    /** Seconds for one call, its arrays freed after; reading one element back makes the work finish. */
    private static double time(java.util.function.Supplier<NDArray> work) {
        try (NDScope scope = new NDScope()) {
            long start = System.nanoTime();
            NDArray result = work.get();
            result.flatten().get(0).getFloat();
            return (System.nanoTime() - start) / 1e9;
        }
    }

    /** The middle value (the mean of the two middle ones for an even count): how the benchmarks report typical runs. */
    public static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
