package dev.saeforge.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.data.LanguageModelActivations;
import dev.saeforge.lm.ForwardBenchmark;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.sae.JumpReluSae;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * How close the training pipeline comes to the best a serial loop could do. Three rates are
 * measured in one process, in alternating rounds so that load from other processes hits all
 * alike, each reported at its best round (as timeit does) with the median beside:
 * <ul>
 * <li>LM only: reading, tokenizing, packing and forward passes to the hook, the fastest of: one
 *     pass at a time with one libtorch thread, one at a time with all cores' threads, and one
 *     single-threaded pass per core at once;</li>
 * <li>SAE only: training steps on activation batches already in memory, with one libtorch thread
 *     or all cores' threads, the faster;</li>
 * <li>end to end: the pipeline as training runs it, the producer feeding the mixing buffer while
 *     this thread trains.</li>
 * </ul>
 * A serial loop that runs the LM and then the SAE for every batch reaches 1 / (1/lm + 1/sae)
 * tokens per second at best; the ratio is the end-to-end rate over that.
 */
public final class PipelineBenchmark {
    /** steps: SAE steps per round (the LM-only rounds make as many rows); pipeline: the pipeline's threads. */
    public record Settings(TrainingRunSpec spec, int steps, int rounds, LanguageModelActivations.Threads pipeline) {
        public Settings {
            if (steps < 1 || rounds < 1) {
                throw new IllegalArgumentException("steps and rounds must be >= 1; got " + steps + " and " + rounds);
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

    /** The ways each part was run alone, the pipeline's rates, and what they make. */
    public record Result(Settings settings, String source, int dIn, int dSae, List<Way> lmWays, List<Way> saeWays, double[] pipelineRates) {
        /** The LM alone, the fastest way. */
        public Way lm() {
            return fastest(lmWays);
        }

        /** The SAE alone, the fastest way. */
        public Way sae() {
            return fastest(saeWays);
        }

        public double pipeline() {
            return Arrays.stream(pipelineRates).max().orElseThrow();
        }

        public double pipelineMedian() {
            return ForwardBenchmark.median(pipelineRates);
        }

        /** The best a serial loop can do: every token through the LM, then through the SAE. */
        public double serialBound() {
            return 1 / (1 / lm().best() + 1 / sae().best());
        }

        public double ratio() {
            return pipeline() / serialBound();
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
        List<Way> lmWays = new ArrayList<>(List.of(new Way("one pass at a time, 1 libtorch thread", 1, false, new double[rounds])));
        List<Way> saeWays = new ArrayList<>(List.of(new Way("1 libtorch thread", 1, false, new double[rounds])));
        if (cores > 1) {
            lmWays.add(new Way("one pass at a time, " + cores + " libtorch threads", cores, false, new double[rounds]));
            saeWays.add(new Way(cores + " libtorch threads", cores, false, new double[rounds]));
        }
        if (cores > 1) {
            lmWays.add(new Way(cores + " passes at once, 1 libtorch thread each", 1, true, new double[rounds]));
        }
        double[] pipeline = new double[rounds];
        try (NDManager manager = Torch.engine().newBaseManager(device);
             LanguageModelActivations lmOnly = LanguageModelActivations.open(spec, device, sources,
                     new LanguageModelActivations.Threads(cores, 1, 1))) {
            int rowsPerPass = lmOnly.windowsPerForward() * lmOnly.contextSize();
            int passes = Math.max(1, (settings.steps() * batch + rowsPerPass - 1) / rowsPerPass);
            JumpReluSae.Config config = JumpReluSae.Config.of(spec.sae, lmOnly.dIn());
            List<NDArray> batches = saeBatches(lmOnly, manager, batch);
            try (JumpReluSae model = JumpReluSae.initialise(config, manager, DataType.FLOAT32, training.seed);
                 SaeTrainer trainer = trainer(model, spec, manager)) {
                for (int round = -1; round < rounds; round++) {   // round -1 warms every part up
                    boolean warmUp = round < 0;
                    for (Way way : lmWays) {
                        JniUtils.setNumThreads(way.threads());
                        double rate = lmRound(lmOnly, manager, warmUp ? 1 : passes, rowsPerPass, way.parallel());
                        if (!warmUp) {
                            way.rates()[round] = rate;
                        }
                    }
                    for (Way way : saeWays) {
                        JniUtils.setNumThreads(way.threads());
                        double rate = saeRound(trainer, batches, warmUp ? 2 : settings.steps(), batch);
                        if (!warmUp) {
                            way.rates()[round] = rate;
                        }
                    }
                    double rate = pipelineRound(spec, device, sources, settings, trainer, manager, warmUp ? 2 : settings.steps(), batch);
                    if (!warmUp) {
                        pipeline[round] = rate;
                    }
                }
            }
            return new Result(settings, lmOnly.describe(), lmOnly.dIn(), config.dSae(), lmWays, saeWays, pipeline);
        }
    }

    private static SaeTrainer trainer(JumpReluSae sae, TrainingRunSpec spec, NDManager manager) {
        TrainingSpec training = spec.training;
        Adam adam = new Adam(sae.parameters(), training.adamBeta1, training.adamBeta2, 1e-8, manager);
        FeatureStats stats = new FeatureStats(sae.dSae(), training.deadFeatureWindow, training.featureSamplingWindow, manager);
        return new SaeTrainer(sae, adam, stats, Schedules.LearningRate.of(training), spec.sae.l0Coefficient, spec.sae.l0WarmUpSteps,
                spec.sae.preActLossCoefficient != null, 1.0);
    }

    /** A few real activation batches for the SAE-only rounds to cycle through. */
    private static List<NDArray> saeBatches(LanguageModelActivations source, NDManager manager, int batch) {
        int rowsPerPass = source.contextSize() * source.windowsPerForward();
        List<NDArray> passes = source.forwardPasses(manager, (4 * batch + rowsPerPass - 1) / rowsPerPass, false);
        NDArray rows = NDArrays.concat(new NDList(passes), 0);
        List<NDArray> batches = new ArrayList<>();
        for (long from = 0; from + batch <= rows.getShape().get(0) && batches.size() < 4; from += batch) {
            batches.add(rows.get(new NDIndex(from + ":" + (from + batch))));
        }
        return batches;
    }

    private static double lmRound(LanguageModelActivations source, NDManager manager, int passes, int rowsPerPass, boolean parallel) {
        long start = System.nanoTime();
        try (NDManager round = manager.newSubManager()) {
            source.forwardPasses(round, passes, parallel);
        }
        return (double) passes * rowsPerPass / seconds(start);
    }

    private static double saeRound(SaeTrainer trainer, List<NDArray> batches, int steps, int batch) {
        long start = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            try (NDScope scope = new NDScope()) {
                trainer.step(batches.get(i % batches.size()));
            }
        }
        return (double) steps * batch / seconds(start);
    }

    /** A fresh pipeline; timed from its first batch on, so the first refill (filling an empty buffer) is not counted. */
    private static double pipelineRound(TrainingRunSpec spec, Device device, ModelSources sources, Settings settings, SaeTrainer trainer,
                                        NDManager manager, int steps, int batch) throws IOException {
        try (LanguageModelActivations source = LanguageModelActivations.open(spec, device, sources, settings.pipeline())) {
            step(source, trainer, manager, batch);
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                step(source, trainer, manager, batch);
            }
            return (double) steps * batch / seconds(start);
        }
    }

    private static void step(LanguageModelActivations source, SaeTrainer trainer, NDManager manager, int batch) {
        try (NDScope scope = new NDScope()) {
            trainer.step(source.next(manager, batch));
        }
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
