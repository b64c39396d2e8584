package dev.saeforge.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.pytorch.jni.JniUtils;
import dev.saeforge.api.ActivationCacheSpec;
import dev.saeforge.api.ActivationsSpec;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.cache.CacheFiles;
import dev.saeforge.cache.CacheLayout;
import dev.saeforge.cache.CacheWriter;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.data.CachedActivations;
import dev.saeforge.data.LanguageModelActivations;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.data.ThreadSettings;
import dev.saeforge.data.TrainingWindows;
import dev.saeforge.lm.ForwardBenchmark;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * How close training comes to the best a serial loop could do, for a run of {@code saes} SAEs on
 * one hook. The rates are measured in one process, in alternating rounds so that load from other
 * processes hits all alike, each reported at its best round (as timeit does) with the median beside:
 * <ul>
 * <li>LM only: reading, tokenizing, packing and forward passes to the hook, the fastest of: one
 *     pass at a time with one libtorch thread, one at a time with all cores' threads, and one
 *     single-threaded pass per core at once;</li>
 * <li>SAE only: one SAE's training steps on activation batches already in memory, with one
 *     libtorch thread or all cores' threads, the faster;</li>
 * <li>end to end: the pipeline as training runs it, the producer feeding the mixing buffer while
 *     this thread trains every SAE on each batch; for {@code saes} SAEs and, to compare, for one.</li>
 * </ul>
 * A serial loop that runs the LM once and then every SAE for each batch reaches
 * 1 / (1/lm + saes/sae) tokens per second at best; the ratio is the end-to-end rate over that.
 * Separate runs would each pay for the LM: the speed-up is saes × the rate of the run of
 * {@code saes} SAEs over the rate of the run of one.
 */
public final class PipelineBenchmark {
    /** steps: stream batches per round (the LM-only rounds make as many rows); pipeline: the pipeline's threads. */
    public record Settings(TrainingRunSpec spec, int saes, int steps, int rounds, ThreadSettings pipeline) {
        public Settings {
            if (steps < 1 || rounds < 1 || saes < 1) {
                throw new IllegalArgumentException("saes, steps and rounds must be >= 1; got " + saes + ", " + steps + " and " + rounds);
            }
        }
    }

    /**
     * One way of running a part alone: with {@code threads} libtorch threads on the calling
     * thread, or (parallel) as the pipeline's forward threads run; its tokens per second in each round.
     */
    public record Way(String description, int threads, boolean parallel, double[] rates) {
        public double best() {
            return Arrays.stream(rates).max().orElseThrow();
        }

        public double median() {
            return ForwardBenchmark.median(rates);
        }
    }

    /** The ways each part was run alone, the pipeline's rates with every SAE and with one, and what they make. */
    public record Result(Settings settings, String source, int dIn, int dSae, List<Way> lmWays, List<Way> saeWays,
                         Way pipeline, Way onePipeline) {
        /** The LM alone, the fastest way. */
        public Way lm() {
            return fastest(lmWays);
        }

        /** One SAE alone, the fastest way. */
        public Way sae() {
            return fastest(saeWays);
        }

        /** The best a serial loop can do: every token through the LM once, then through each SAE. */
        public double serialBound() {
            return 1 / (1 / lm().best() + settings.saes() / sae().best());
        }

        public double ratio() {
            return pipeline.best() / serialBound();
        }

        /** Tokens trained per second into all SAEs over what separate runs of one SAE each would reach together. */
        public double speedUp() {
            return settings.saes() * pipeline.best() / onePipeline.best();
        }

        private static Way fastest(List<Way> ways) {
            return ways.stream().max(Comparator.comparingDouble(Way::best)).orElseThrow();
        }
    }

    private PipelineBenchmark() {
    }

    public static Result run(Settings settings, ModelSources sources) throws IOException {
        TrainingRunSpec spec = settings.spec();
        TrainingSpec training = spec.training;
        int batch = training.batchSizeTokens;
        int cores = Runtime.getRuntime().availableProcessors();
        int rounds = settings.rounds();
        Device device = Torch.device(training.device != TrainingSpec.Device.CPU);
        List<SaeDefinition> all = sweep(spec, settings.saes());
        HookPoint hook = HookPoint.parse(all.get(0).hook());
        List<Way> lmWays = new ArrayList<>(List.of(new Way("one pass at a time, 1 libtorch thread", 1, false, new double[rounds])));
        List<Way> saeWays = new ArrayList<>(List.of(new Way("1 libtorch thread", 1, false, new double[rounds])));
        if (cores > 1) {
            lmWays.add(new Way("one pass at a time, " + cores + " libtorch threads", cores, false, new double[rounds]));
            saeWays.add(new Way(cores + " libtorch threads", cores, false, new double[rounds]));
            lmWays.add(new Way(cores + " passes at once, 1 libtorch thread each", 1, true, new double[rounds]));
        }
        Way pipeline = new Way(settings.saes() + " SAEs", 0, false, new double[rounds]);
        Way onePipeline = new Way("1 SAE", 0, false, new double[rounds]);
        ExecutorService forwards = ThreadSettings.pool(cores, 1, "bench-forward");
        try (NDManager manager = Torch.engine().newBaseManager(device);
             LanguageModelData data = LanguageModelData.open(spec, List.of(hook), device, sources)) {
            int rowsPerPass = data.windowsPerForward() * data.contextSize();
            int passes = Math.max(1, (settings.steps() * batch + rowsPerPass - 1) / rowsPerPass);
            int dIn = hook.width(data.model().config());
            List<NDArray> batches = saeBatches(data, hook, manager, batch);
            try (SaeState alone = SaeState.start(all.get(0), 0, dIn, 1.0, manager)) {
                for (int round = -1; round < rounds; round++) {   // round -1 warms every part up
                    boolean warmUp = round < 0;
                    for (Way way : lmWays) {
                        JniUtils.setNumThreads(way.threads());
                        record(way, round, lmRound(data, hook, forwards, warmUp ? 1 : passes, rowsPerPass, way.parallel()));
                    }
                    for (Way way : saeWays) {
                        JniUtils.setNumThreads(way.threads());
                        record(way, round, saeRound(alone, batches, warmUp ? 2 : settings.steps(), batch));
                    }
                    int steps = warmUp ? 2 : settings.steps();
                    record(pipeline, round, pipelineRound(spec, all, device, sources, settings.pipeline(), manager, steps, batch));
                    if (settings.saes() > 1) {
                        record(onePipeline, round, pipelineRound(spec, all.subList(0, 1), device, sources, settings.pipeline(), manager, steps, batch));
                    }
                }
                String source = data.model().config().numLayers() + "-layer " + spec.model.name + " (" + data.model().precision()
                        + ") at " + hook + " over " + spec.dataset.uri;
                return new Result(settings, source, dIn, alone.sae().dSae(), lmWays, saeWays, pipeline,
                        settings.saes() > 1 ? onePipeline : pipeline);
            }
        } finally {
            forwards.shutdownNow();
        }
    }

    /**
     * Training from an activation cache against training from the live stream, for the run's
     * SAEs on its first hook: the cache (of the spec's dtype, default the model's) is built
     * first in {@code directory}, timed on its own, with just the rows the rounds read; then
     * rounds of each alternate, each a fresh stream into fresh SAEs.
     *
     * @param build        the build: seconds and rows per second
     * @param bytesPerRow  bytes per token of each hook's rows in the cache's dtype; the cache's
     *                     files hold {@code storedBytesPerRow} per token with token ids, positions and headers
     */
    public record CacheResult(Settings settings, String cacheDtype, double buildSeconds, long buildRows, Way cache, Way stream,
                              Map<String, Integer> bytesPerRow, double storedBytesPerRow) {
        /** Tokens per second from the cache over the stream's: how much the cache saves the trainer. */
        public double ratio() {
            return cache.best() / stream.best();
        }

        public double buildTokensPerSecond() {
            return buildRows / buildSeconds;
        }

        /** Bytes per token of every hook's rows together. */
        public int bytesPerRowOfHooks() {
            return bytesPerRow.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    public static CacheResult fromCache(Settings settings, ModelSources sources, Path directory) throws IOException {
        TrainingRunSpec spec = settings.spec().copy();
        int batch = spec.training.batchSizeTokens;
        // The cache holds what one round reads: its warm-up batch and its steps, after the buffer's first fill.
        spec.training.tokens = (long) (settings.steps() + 1) * batch;
        spec.training.evalBatches = 1;
        if (spec.activations == null) {
            spec.activations = new ActivationsSpec();
        }
        ActivationCacheSpec cacheSpec = spec.activations.cache != null ? spec.activations.cache
                : new ActivationCacheSpec();
        cacheSpec.uri = directory.toString();
        cacheSpec.mode = ActivationCacheSpec.Mode.WRITE;
        spec.activations.cache = cacheSpec;
        Device device = Torch.device(spec.training.device != TrainingSpec.Device.CPU);
        List<SaeDefinition> all = sweep(spec, settings.saes());
        HookPoint hook = HookPoint.parse(all.get(0).hook());
        CacheFiles files = CacheFiles.open(directory.toString(), Map.of());
        long start = System.nanoTime();
        CacheLayout.Manifest manifest;
        try (LanguageModelData data = LanguageModelData.open(spec, List.of(hook), device, sources)) {
            manifest = new CacheWriter(spec, data, List.of(hook), files, CacheWriter.Listener.NONE)
                    .buildAll(1);
        }
        double buildSeconds = seconds(start);
        int rounds = settings.rounds();
        Way cache = new Way("from the cache", 0, false, new double[rounds]);
        Way stream = new Way("from the live stream", 0, false, new double[rounds]);
        try (NDManager manager = Torch.engine().newBaseManager(device)) {
            for (int round = -1; round < rounds; round++) {   // round -1 warms both up
                int steps = round < 0 ? 2 : settings.steps();
                record(cache, round, pipelineRound(() -> CachedActivations.open(files, spec, List.of(hook.toString()), device), all,
                        settings.pipeline(), manager, steps, batch));
                record(stream, round, pipelineRound(spec, all, device, sources, settings.pipeline(), manager, steps, batch));
            }
        }
        int bytes = manifest.info().dtype().equals("bfloat16") ? 2 : 4;
        Map<String, Integer> perHook = new LinkedHashMap<>();
        manifest.info().hooks().forEach(h -> perHook.put(h.hook(), h.width() * bytes));
        Object stored = manifest.extra().get("bytesPerRow");
        return new CacheResult(settings, manifest.info().dtype(), buildSeconds, manifest.trainingRows() + manifest.heldOut().rows(), cache,
                stream, perHook, stored instanceof Number n ? n.doubleValue() : Double.NaN);
    }

    private static void record(Way way, int round, double rate) {
        if (round >= 0) {
            way.rates()[round] = rate;
        }
    }

    /**
     * The run's first SAE {@code count} times on its hook, at sparsity coefficients 1, 2, 4... times its
     * own (the TopK family, which has none, at its own k): what a sparsity sweep trains.
     */
    static List<SaeDefinition> sweep(TrainingRunSpec spec, int count) {
        SaeDefinition first = SaeDefinition.all(spec, "bench").get(0);
        if (first.hook() == null) {
            throw new IllegalArgumentException("bench train needs a language model's hook; the run has none");
        }
        List<SaeDefinition> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String name = "sae-" + i;
            SaeSpec sae = Mappers.json().convertValue(Mappers.json().valueToTree(first.sae()), SaeSpec.class);
            if (sae.l0Coefficient != null) {
                sae.l0Coefficient = first.sae().l0Coefficient * (1L << i);
            } else if (sae.l1Coefficient != null) {
                sae.l1Coefficient = first.sae().l1Coefficient * (1L << i);
            }
            out.add(new SaeDefinition("bench.saes[" + i + "]", name, first.hook(), sae, first.training(),
                    SaeDefinition.seed(spec.training.seed, name)));
        }
        return out;
    }

    /** A few real activation batches for the SAE-only rounds to cycle through. */
    private static List<NDArray> saeBatches(LanguageModelData data, HookPoint hook, NDManager manager, int batch) {
        int rowsPerPass = data.contextSize() * data.windowsPerForward();
        List<NDArray> passes = new ArrayList<>();
        try (TrainingWindows windows = data.trainingWindows()) {
            for (int i = 0; i < (4 * batch + rowsPerPass - 1) / rowsPerPass; i++) {
                passes.add(data.model().activations(manager.create(windows.next()), hook));
            }
        }
        NDArray rows = NDArrays.concat(new NDList(passes), 0);
        List<NDArray> batches = new ArrayList<>();
        for (long from = 0; from + batch <= rows.getShape().get(0) && batches.size() < 4; from += batch) {
            batches.add(rows.get(new NDIndex(from + ":" + (from + batch))));
        }
        return batches;
    }

    /** Forward passes to the hook on fresh windows: on this thread, or on the forward threads at once ({@code parallel}). */
    private static double lmRound(LanguageModelData data, HookPoint hook, ExecutorService forwards, int passes, int rowsPerPass,
                                  boolean parallel) {
        long start = System.nanoTime();
        try (NDManager round = Torch.engine().newBaseManager(data.model().device()); TrainingWindows windows = data.trainingWindows()) {
            List<Future<NDArray>> pending = new ArrayList<>();
            for (int i = 0; i < passes; i++) {
                long[][] tokens = windows.next();
                if (parallel) {
                    pending.add(forwards.submit(() -> data.model().activations(round.create(tokens), hook)));
                } else {
                    data.model().activations(round.create(tokens), hook);
                }
            }
            for (Future<NDArray> pass : pending) {
                pass.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while timing forward passes", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a forward pass failed: " + e.getCause(), e.getCause());
        }
        return (double) passes * rowsPerPass / seconds(start);
    }

    private static double saeRound(SaeState sae, List<NDArray> batches, int steps, int batch) {
        long start = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            try (NDScope scope = new NDScope()) {
                sae.step(batches.get(i % batches.size()));
            }
        }
        return (double) steps * batch / seconds(start);
    }

    /**
     * A fresh stream feeding fresh SAEs, stepped as training steps them; timed from its second
     * batch on, so the first refill (filling an empty buffer) is not counted.
     */
    private static double pipelineRound(TrainingRunSpec spec, List<SaeDefinition> saes, Device device, ModelSources sources,
                                        ThreadSettings threads, NDManager manager, int steps, int batch) throws IOException {
        HookPoint hook = HookPoint.parse(saes.get(0).hook());
        return pipelineRound(() -> LanguageModelActivations.open(spec, List.of(hook), device, sources, threads), saes, threads, manager,
                steps, batch);
    }

    /** Opens a fresh stream for a round. */
    private interface Opener {
        ActivationSource open() throws IOException;
    }

    /** As above, on the stream {@code opener} opens (serving the SAEs' one hook). */
    private static double pipelineRound(Opener opener, List<SaeDefinition> saes, ThreadSettings threads, NDManager manager, int steps,
                                        int batch) throws IOException {
        try (NDManager round = manager.newSubManager(); ActivationSource source = opener.open()) {
            List<SaeState> states = new ArrayList<>();
            for (SaeDefinition sae : saes) {
                states.add(SaeState.start(sae, 0, source.dIn(saes.get(0).hook()), 1.0, round));
            }
            ThreadSettings.useLibtorchThreads(threads.saeThreads());
            try (SaeSteps saeSteps = new SaeSteps(states, threads)) {
                step(source, saeSteps, round, batch);
                long start = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    step(source, saeSteps, round, batch);
                }
                return (double) steps * batch / seconds(start);
            } finally {
                states.forEach(SaeState::close);
            }
        }
    }

    private static void step(ActivationSource source, SaeSteps steps, NDManager manager, int batch) {
        try (NDScope scope = new NDScope()) {
            steps.step(source.next(manager, batch), false);
        }
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
