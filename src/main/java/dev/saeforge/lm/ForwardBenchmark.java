package dev.saeforge.lm;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.util.cuda.CudaUtils;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.AnyDtype;
import dev.saeforge.tensor.NativeMemory;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How close the forward pass to a hook comes to the speed of its matrix products alone, in
 * float32 and in bfloat16, in one run. The bound is 2 * (parameters of the projections run) *
 * tokens floating-point operations at the rate bare matrix products of exactly those shapes, in
 * the same precision, reach in this process; the ratio is the bound's time over the forward's.
 * Forward and bound are timed alternately, precision after precision, and each is reported at its
 * best run (as timeit does), so that load from other processes, which only ever slows a run down,
 * hits all alike; the medians are reported beside. With {@code memory}, the peak resident memory
 * of a forward pass above what the process held before it (the weights among it) is reported
 * too: on the CPU, Linux's peak-RSS counter is reset before the pass and read after it.
 */
public final class ForwardBenchmark {
    /** The precisions bench lm times: float32 first (the headline ratio), then bfloat16. */
    public static final List<Precision> PRECISIONS = List.of(Precision.FLOAT32, Precision.BFLOAT16);

    /** threads: libtorch's intra-op threads, 0 to leave its default (one per core). */
    public record Settings(TinyQwen3.Options model, HookPoint hook, int batch, int contextSize, int repetitions, int threads,
                           boolean memory, List<Precision> precisions) {
        public Settings {
            if (batch < 1 || contextSize < 1 || repetitions < 1 || threads < 0 || precisions.isEmpty()) {
                throw new IllegalArgumentException("batch, context size and repetitions must be >= 1, threads >= 0 and a precision given; got "
                        + batch + ", " + contextSize + ", " + repetitions + ", " + threads + ", " + precisions);
            }
        }

        public Settings(TinyQwen3.Options model, HookPoint hook, int batch, int contextSize, int repetitions, int threads, boolean memory) {
            this(model, hook, batch, contextSize, repetitions, threads, memory, PRECISIONS);
        }

        /** A ~100M-parameter Qwen3-shaped model (q width 1024 != hidden 768, as on Qwen3-0.6B) to its last layer. */
        public static Settings defaults() {
            TinyQwen3.Options model = new TinyQwen3.Options(12, 768, 2304, 8, 4, 128, 16384, true, 0,
                    Safetensors.Dtype.BF16, 1);
            return new Settings(model, new HookPoint(11, HookPoint.Site.RESID_POST), 4, 256, 5, 0, false);
        }
    }

    /**
     * One precision's seconds of each repetition, forward and bare products alternating; the
     * figures use the best of each, the medians show how much other load there was.
     * {@code peakAboveWeightsBytes} is null unless memory was measured.
     */
    public record Figures(Precision precision, int tokens, long matmulParameters, double[] forwardRuns, double[] matmulRuns,
                          Long peakAboveWeightsBytes) {
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

    public record Result(Settings settings, int threads, long parameters, long matmulParameters, int tokens, List<Figures> figures) {
        /** The figures of {@code precision}. */
        public Figures of(Precision precision) {
            return figures.stream().filter(f -> f.precision() == precision).findFirst().orElseThrow();
        }
    }

    private ForwardBenchmark() {
    }

    /** Writes the model into {@code workDir}, loads it on the CPU in each precision and measures; the first repetition is a warm-up. */
    public static Result run(Settings settings, Path workDir) throws IOException {
        return run(settings, workDir, Device.cpu());
    }

    /** As {@link #run(Settings, Path)} on {@code device}. */
    public static Result run(Settings settings, Path workDir, Device device) throws IOException {
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
        List<Figures> figures = new ArrayList<>();
        try (NDManager manager = engine.newBaseManager(device)) {
            engine.setRandomSeed((int) settings.model().seed());
            NDArray windows = manager.randomInteger(0, config.vocabSize(), new Shape(settings.batch(), settings.contextSize()), DataType.INT64);
            List<NDArray> weights = new ArrayList<>();
            List<NDArray> inputs = new ArrayList<>();
            Map<Long, NDArray> inputOfWidth = new HashMap<>();
            for (long[] shape : shapes) {
                weights.add(manager.randomNormal(new Shape(shape)));
                inputs.add(inputOfWidth.computeIfAbsent(shape[1], in -> manager.randomNormal(new Shape(tokens, in))));
            }
            List<Precision> precisions = settings.precisions();
            List<Qwen3Model> models = new ArrayList<>();
            List<List<NDArray>> typedWeights = new ArrayList<>();
            List<List<NDArray>> typedInputs = new ArrayList<>();
            Long[] devicePeak = new Long[precisions.size()];
            try {
                for (int p = 0; p < precisions.size(); p++) {
                    Precision precision = precisions.get(p);
                    models.add(Qwen3Model.load(workDir, device, precision));
                    typedWeights.add(weights.stream().map(w -> AnyDtype.cast(w, precision, manager)).toList());
                    typedInputs.add(inputs.stream().map(x -> AnyDtype.cast(x, precision, manager)).toList());
                    if (settings.memory() && device.isGpu()) {
                        devicePeak[p] = devicePeakAboveWeights(models.get(p), windows, settings.hook(), manager);
                    }
                }
                double[][] forward = new double[precisions.size()][settings.repetitions()];
                double[][] matmul = new double[precisions.size()][settings.repetitions()];
                for (int rep = -1; rep < settings.repetitions(); rep++) {
                    for (int p = 0; p < precisions.size(); p++) {
                        Qwen3Model model = models.get(p);
                        double f = time(() -> model.activations(windows, settings.hook()));
                        List<NDArray> w = typedWeights.get(p);
                        List<NDArray> x = typedInputs.get(p);
                        double m = time(() -> AnyDtype.matmuls(x, w, manager));
                        if (rep >= 0) {
                            forward[p][rep] = f;
                            matmul[p][rep] = m;
                        }
                    }
                }
                for (int p = 0; p < precisions.size(); p++) {
                    Long peak = !settings.memory() ? null : device.isGpu() ? devicePeak[p] : peakAboveWeights(models.get(p), windows, settings.hook());
                    figures.add(new Figures(precisions.get(p), tokens, matmulParameters, forward[p], matmul[p], peak));
                }
            } finally {
                for (Qwen3Model model : models) {
                    model.close();
                }
            }
        }
        return new Result(settings, JniUtils.getNumThreads(), config.parameters(), matmulParameters, tokens, figures);
    }

    /**
     * The peak resident memory of one forward pass above what the process held just before it,
     * with every weight the pass needs already loaded (the timed runs loaded them).
     */
    private static long peakAboveWeights(Qwen3Model model, NDArray windows, HookPoint hook) throws IOException {
        NativeMemory.release();
        long before = NativeMemory.residentBytes();
        NativeMemory.resetPeak();
        time(() -> model.activations(windows, hook));
        return Math.max(0, NativeMemory.peakResidentBytes() - before);
    }

    /**
     * The device memory one forward pass takes above the weights, on a GPU: what libtorch's caching
     * allocator holds after the model's first full-size pass (it keeps the blocks the peak needed)
     * less what it held after a one-token pass that loaded the weights. Measured before any other
     * full-size pass, whose cached blocks a later pass would reuse; null where CUDA's memory
     * figures cannot be read (the native executable has no JNA to reach libcudart).
     */
    private static Long devicePeakAboveWeights(Qwen3Model model, NDArray windows, HookPoint hook, NDManager manager) {
        try {
            time(() -> model.activations(manager.create(new long[][]{{0}}), hook));
            long before = CudaUtils.getGpuMemory(manager.getDevice()).getUsed();
            time(() -> model.activations(windows, hook));
            return Math.max(0, CudaUtils.getGpuMemory(manager.getDevice()).getUsed() - before);
        } catch (RuntimeException | LinkageError unavailable) {
            return null;
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

    /** Seconds for one call, its arrays freed after; reading one float32 element back makes a GPU finish the work. */
    private static double time(java.util.function.Supplier<NDArray> work) {
        try (NDScope scope = new NDScope()) {
            long start = System.nanoTime();
            work.get().reshape(-1).getFloat(0);
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
