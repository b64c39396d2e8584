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
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.ForwardBenchmark;
import dev.saeforge.sae.JumpReluSae;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How close the training pipeline comes to the best a serial loop could do. Three rates are
 * measured in one process, in alternating rounds so that load from other processes hits all
 * alike, each reported at its best round (as timeit does) with the median beside:
 * <ul>
 * <li>LM only: reading, tokenizing, packing and the forward pass to the hook, on one thread with
 *     all of libtorch's threads;</li>
 * <li>SAE only: training steps on activation batches already in memory, likewise;</li>
 * <li>end to end: the pipeline as training runs it, the producer thread feeding the mixing buffer
 *     while this thread trains, each with its share of the threads.</li>
 * </ul>
 * A serial loop that runs the LM and then the SAE for every batch reaches 1 / (1/lm + 1/sae)
 * tokens per second at best; the ratio is the end-to-end rate over that.
 */
public final class PipelineBenchmark {
    /**
     * steps: SAE steps per round (the LM-only rounds make as many rows); serialThreads: the
     * libtorch thread counts the single-part rounds try, each part credited with its fastest.
     */
    public record Settings(TrainingRunSpec spec, int steps, int rounds, LanguageModelActivations.Threads pipelineThreads, int[] serialThreads) {
        public Settings {
            if (steps < 1 || rounds < 1 || serialThreads.length == 0 || Arrays.stream(serialThreads).anyMatch(t -> t < 1)) {
                throw new IllegalArgumentException("steps, rounds and thread counts must be >= 1; got " + steps + ", " + rounds + ", "
                        + Arrays.toString(serialThreads));
            }
        }

        /** One thread and every core: small shapes run fastest on one, large ones on all. */
        public static int[] oneAndAll(int cores) {
            return cores == 1 ? new int[]{1} : new int[]{1, cores};
        }
    }

    /**
     * Tokens per second of each round; lmRates[t][round] with serialThreads[t] threads. The LM and
     * the SAE are each credited with the thread count at which they were fastest.
     */
    public record Result(Settings settings, String source, int dIn, int dSae, double[][] lmRates, double[][] saeRates, double[] pipelineRates) {
        public double lm() {
            return best(lmRates[lmThreadsIndex()]);
        }

        public double sae() {
            return best(saeRates[saeThreadsIndex()]);
        }

        public int lmThreads() {
            return settings.serialThreads()[lmThreadsIndex()];
        }

        public int saeThreads() {
            return settings.serialThreads()[saeThreadsIndex()];
        }

        private int lmThreadsIndex() {
            return fastest(lmRates);
        }

        private int saeThreadsIndex() {
            return fastest(saeRates);
        }

        private static int fastest(double[][] rates) {
            int best = 0;
            for (int t = 1; t < rates.length; t++) {
                if (best(rates[t]) > best(rates[best])) {
                    best = t;
                }
            }
            return best;
        }

        public double pipeline() {
            return best(pipelineRates);
        }

        /** The best a serial loop can do: every token through the LM, then through the SAE. */
        public double serialBound() {
            return 1 / (1 / lm() + 1 / sae());
        }

        public double ratio() {
            return pipeline() / serialBound();
        }

        public double lmMedian() {
            return ForwardBenchmark.median(lmRates[lmThreadsIndex()]);
        }

        public double saeMedian() {
            return ForwardBenchmark.median(saeRates[saeThreadsIndex()]);
        }

        public double pipelineMedian() {
            return ForwardBenchmark.median(pipelineRates);
        }

        private static double best(double[] rates) {
            return Arrays.stream(rates).max().orElseThrow();
        }
    }

    private PipelineBenchmark() {
    }

    public static Result run(Settings settings, ModelSources sources) throws IOException {
        TrainingRunSpec spec = settings.spec();
        TrainingSpec training = spec.training;
        int batch = training.batchSizeTokens;
        Device device = Torch.device(training.device != TrainingSpec.Device.CPU);
        int[] threadCounts = settings.serialThreads();
        double[][] lm = new double[threadCounts.length][settings.rounds()];
        double[][] sae = new double[threadCounts.length][settings.rounds()];
        double[] pipeline = new double[settings.rounds()];
        try (NDManager manager = Torch.engine().newBaseManager(device);
             LanguageModelActivations lmOnly = LanguageModelActivations.open(spec, device, sources, settings.pipelineThreads())) {
            int rowsPerPass = spec.dataset.storeBatchSizePrompts * spec.dataset.contextSize;
            int passes = (int) Math.max(1, ((long) settings.steps() * batch + rowsPerPass - 1) / rowsPerPass);
            int dIn = lmOnly.dIn();
            JumpReluSae.Config config = JumpReluSae.Config.of(spec.sae, dIn);
            List<NDArray> batches = saeBatches(lmOnly, manager, batch);
            try (JumpReluSae model = JumpReluSae.initialise(config, manager, DataType.FLOAT32, training.seed);
                 SaeTrainer trainer = trainer(model, spec, manager)) {
                for (int round = -1; round < settings.rounds(); round++) {   // round -1 warms every part up
                    for (int t = 0; t < threadCounts.length; t++) {
                        JniUtils.setNumThreads(threadCounts[t]);
                        double l = lmRound(lmOnly, manager, round < 0 ? 1 : passes, (long) (round < 0 ? 1 : passes) * rowsPerPass);
                        double s = saeRound(trainer, batches, round < 0 ? 2 : settings.steps(), batch);
                        if (round >= 0) {
                            lm[t][round] = l;
                            sae[t][round] = s;
                        }
                    }
                    double p = pipelineRound(spec, device, sources, settings, trainer, manager, round < 0 ? 2 : settings.steps(), batch);
                    if (round >= 0) {
                        pipeline[round] = p;
                    }
                }
            }
            return new Result(settings, lmOnly.describe(), dIn, config.dSae(), lm, sae, pipeline);
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
        List<NDArray> passes = source.forwardPasses(manager, (4 * batch + rowsPerPass - 1) / rowsPerPass);
        NDArray rows = NDArrays.concat(new NDList(passes), 0);
        List<NDArray> batches = new ArrayList<>();
        for (long from = 0; from + batch <= rows.getShape().get(0) && batches.size() < 4; from += batch) {
            batches.add(rows.get(new NDIndex(from + ":" + (from + batch))));
        }
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("one forward pass gives fewer rows than a batch of " + batch);
        }
        return batches;
    }

    private static double lmRound(LanguageModelActivations source, NDManager manager, int passes, long rows) {
        long start = System.nanoTime();
        try (NDManager round = manager.newSubManager()) {
            List<NDArray> out = source.forwardPasses(round, passes);
            out.get(out.size() - 1).getShape();
        }
        System.err.printf("DBG lm %.3f s%n", seconds(start));
        return rows / seconds(start);
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
        try (LanguageModelActivations source = LanguageModelActivations.open(spec, device, sources, settings.pipelineThreads())) {
            step(source, trainer, manager, batch);
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                step(source, trainer, manager, batch);
            }
            double sec = seconds(start);
            System.err.printf("DBG e2e %.3f s%n", sec);
            return (double) steps * batch / sec;
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
