package dev.saeforge.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.data.LanguageModelActivations;
import dev.saeforge.data.SyntheticSuperposition;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.NonFiniteActivationException;
import dev.saeforge.sae.JumpReluSae;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs one TrainingRun in this process, start to finish: the activation source, the SAE and its
 * trainer, SAELens' checkpoint cadence, resume from the newest complete checkpoint, the final
 * evaluation and the run summary.
 */
public final class Training {
    /** A latent recovers a ground-truth direction when their cosine similarity exceeds this. */
    public static final double RECOVERY_COSINE = 0.9;

    private Training() {
    }

    /** How this invocation should behave, beyond what the spec says. */
    public record Options(
            /** Stop after this many steps in this process (checkpointed, resumable); null runs to the end. */
            Long stopAfterSteps,
            /** Set from outside (SIGTERM) to stop at the next step, checkpointed. */
            StopRequest stopRequest) {

        public static Options defaults() {
            return new Options(null, new StopRequest());
        }
    }

    /**
     * Non-finite activations or a diverged loss stopped the run; the last good state is in
     * {@code checkpoint} (when one could be written).
     */
    public static final class NonFiniteError extends RuntimeException {
        public final Optional<CheckpointRef> checkpoint;

        NonFiniteError(String message, Optional<CheckpointRef> checkpoint) {
            super(message);
            this.checkpoint = checkpoint;
        }
    }

    /** Trains {@code run}, resuming from the store's newest complete checkpoint of it if there is one. */
    public static Summary run(TrainingRun run, CheckpointStore store, Options options, TrainingListener listener) throws IOException {
        requestTf32(run.getSpec().training);
        try (ActivationSource source = openSource(run.getSpec())) {
            return run(run, source, store, options, listener);
        }
    }

    /** Trains {@code run} on the activations of {@code source}. */
    public static Summary run(TrainingRun run, ActivationSource source, CheckpointStore store, Options options,
                              TrainingListener listener) throws IOException {
        String name = run.getMetadata().getName();
        TrainingRunSpec spec = run.getSpec();
        TrainingSpec training = spec.training;
        requestTf32(training);
        Device device = device(training.device);
        try (NDManager manager = Torch.engine().newBaseManager(device)) {
            int dIn = source.dIn();
            if (spec.sae.dIn != null && spec.sae.dIn != dIn) {
                throw new IllegalArgumentException("spec.sae.dIn is " + spec.sae.dIn + " but " + source.describe()
                        + " gives activations of width " + dIn);
            }
            JumpReluSae.Config config = JumpReluSae.Config.of(spec.sae, dIn);
            Optional<CheckpointRef> latest = store.latest(name);
            if (latest.isPresent() && latest.get().isFinal()) {
                return Summary.alreadyComplete(name, latest.get());
            }
            TrainerState resumed = latest.isPresent()
                    ? TrainerState.read(store, name, latest.get().name(), run, manager)
                    : null;
            try (JumpReluSae sae = resumed != null
                    ? JumpReluSae.fromParameters(config, manager, resumed.weights())
                    : JumpReluSae.initialise(config, manager, DataType.FLOAT32, training.seed)) {
                double scale = resumed != null ? resumed.activationScale() : activationScale(spec.sae, source, manager, training.batchSizeTokens);
                Adam adam = new Adam(sae.parameters(), training.adamBeta1, training.adamBeta2, 1e-8, manager);
                FeatureStats stats = new FeatureStats(config.dSae(), training.deadFeatureWindow, training.featureSamplingWindow, manager);
                try (SaeTrainer trainer = new SaeTrainer(sae, adam, stats, Schedules.LearningRate.of(training),
                        spec.sae.l0Coefficient, spec.sae.l0WarmUpSteps, spec.sae.preActLossCoefficient != null, scale)) {
                    if (resumed != null) {
                        resumed.restoreInto(trainer, adam, stats, source);
                        resumed.close();
                    }
                    Checkpointer checkpointer = new Checkpointer(run, config, store, scale, listener);
                    listener.started(new Plan(name, source.describe(), describe(device, training), training.totalSteps(),
                            training.tokens, training.batchSizeTokens, latest.map(CheckpointRef::uri), trainer.stepsDone(),
                            List.of(new Plan.SaePlan(name, spec.hook, dIn, config.dSae()))));
                    return loop(run, source, sae, trainer, adam, stats, checkpointer, manager, options, listener);
                }
            }
        }
    }

    private static Summary loop(TrainingRun run, ActivationSource source, JumpReluSae sae, SaeTrainer trainer, Adam adam,
                                FeatureStats stats, Checkpointer checkpointer, NDManager manager, Options options,
                                TrainingListener listener) throws IOException {
        TrainingSpec training = run.getSpec().training;
        Deque<Long> thresholds = new ArrayDeque<>(checkpointThresholds(training.tokens, run.getSpec().checkpoints.count));
        while (!thresholds.isEmpty() && thresholds.peekFirst() < trainer.tokensDone()) {
            thresholds.removeFirst();
        }
        Pace pace = new Pace(trainer.tokensDone());
        long stepsThisProcess = 0;
        Metrics last = null;
        while (trainer.tokensDone() < training.tokens) {
            try (NDScope scope = new NDScope()) {
                NDArray batch;
                try {
                    batch = source.next(manager, training.batchSizeTokens);
                } catch (NonFiniteActivationException e) {
                    throw nonFinite(e.getMessage(), e, checkpointer, sae, trainer, adam, stats, source);
                }
                SaeTrainer.Step step;
                try {
                    step = trainer.step(batch);
                } catch (SaeTrainer.NonFiniteException e) {
                    String where = e.inInput ? " from " + source.describe() : " training on " + source.describe();
                    throw nonFinite(e.getMessage() + where, e, checkpointer, sae, trainer, adam, stats, source);
                }
                stepsThisProcess++;
                boolean lastStep = trainer.tokensDone() >= training.tokens;
                if (trainer.stepsDone() % training.logEverySteps == 0 || lastStep) {
                    last = trainer.metrics(step, run.getMetadata().getName(), run.getSpec().hook);
                    listener.progress(pace.progress(last.step(), last.tokens(), training.totalSteps(), training.tokens, List.of(last)));
                }
            }
            if (training.evalEverySteps > 0 && trainer.stepsDone() % training.evalEverySteps == 0 && trainer.tokensDone() < training.tokens) {
                Instant evaluationStart = Instant.now();
                Evaluation evaluation = Evaluation.run(sae, source, training.batchSizeTokens, training.evalBatches,
                        checkpointer.activationScale(), manager);
                listener.timed(new Operation("evaluation", evaluationStart, Instant.now(), evaluation.toJson()));
                checkpointer.evaluated(trainer.stepsDone(), evaluation);
                listener.evaluated(trainer.stepsDone(), trainer.tokensDone(), run.getMetadata().getName(), evaluation);
            }
            if (!thresholds.isEmpty() && trainer.tokensDone() > thresholds.peekFirst()) {
                thresholds.removeFirst();
                checkpointer.write(String.valueOf(trainer.tokensDone()), sae, trainer, adam, stats, source, last, false);
            }
            boolean stepLimit = options.stopAfterSteps() != null && stepsThisProcess >= options.stopAfterSteps();
            if ((stepLimit || options.stopRequest().reason().isPresent()) && trainer.tokensDone() < training.tokens) {
                CheckpointRef saved = checkpointer.write(String.valueOf(trainer.tokensDone()), sae, trainer, adam, stats, source, last, false);
                return new Summary(run.getMetadata().getName(), Summary.Outcome.STOPPED, trainer.stepsDone(), trainer.tokensDone(),
                        pace.tokensPerSecond(), pace.seconds(), saved.uri(), List.of(new Summary.SaeSummary(run.getMetadata().getName(),
                        run.getSpec().hook, null, null, saved.uri())));
            }
        }
        checkpointer.foldActivationScale(sae);
        Instant evaluationStart = Instant.now();
        Evaluation evaluation = Evaluation.run(sae, source, training.batchSizeTokens, training.evalBatches, 1.0, manager);
        listener.timed(new Operation("evaluation", evaluationStart, Instant.now(), evaluation.toJson()));
        listener.evaluated(trainer.stepsDone(), trainer.tokensDone(), run.getMetadata().getName(), evaluation);
        CheckpointRef finalCheckpoint = checkpointer.writeFinal("final_" + trainer.tokensDone(), sae, trainer, adam, stats, source, evaluation);
        return new Summary(run.getMetadata().getName(), Summary.Outcome.COMPLETED, trainer.stepsDone(), trainer.tokensDone(),
                pace.tokensPerSecond(), pace.seconds(), finalCheckpoint.uri(), List.of(new Summary.SaeSummary(run.getMetadata().getName(),
                run.getSpec().hook, evaluation, stats.deadCount(), finalCheckpoint.uri())));
    }

    /** Stops the run on non-finite numbers ({@code cause}), checkpointing the last good state when a step has completed. */
    private static NonFiniteError nonFinite(String message, RuntimeException cause, Checkpointer checkpointer, JumpReluSae sae,
                                            SaeTrainer trainer, Adam adam, FeatureStats stats, ActivationSource source) {
        Optional<CheckpointRef> saved = Optional.empty();
        if (trainer.stepsDone() > 0) {
            try {
                saved = Optional.of(checkpointer.write(String.valueOf(trainer.tokensDone()), sae, trainer, adam, stats, source, null, false));
            } catch (IOException | RuntimeException io) {
                cause.addSuppressed(io);
            }
        }
        String kept = saved.map(c -> "; the last good state is checkpoint " + c.uri()).orElse("; no step had completed, so no checkpoint was written");
        NonFiniteError error = new NonFiniteError(message + kept, saved);
        error.initCause(cause);
        return error;
    }

    /**
     * SAELens' checkpoint thresholds: every multiple of ⌈tokens / (n + 1)⌉ below the budget; a
     * checkpoint is written when the tokens trained first exceed one.
     */
    static java.util.List<Long> checkpointThresholds(long tokens, int count) {
        java.util.List<Long> out = new java.util.ArrayList<>();
        if (count <= 0) {
            return out;
        }
        long every = (tokens + count) / (count + 1);
        for (long t = every; t < tokens && out.size() < count; t += every) {
            out.add(t);
        }
        return out;
    }

    /**
     * spec.training.autocast (the SAE step) or autocastLm (a float32 LM forward) on a GPU: float32
     * matrix products on TF32 tensor cores, wherever the trainer runs. It must be asked for before
     * libtorch loads in this process; a run in a process where it already has (tests) keeps IEEE
     * float32 and says so in its plan.
     */
    private static void requestTf32(TrainingSpec training) {
        if (asksForTf32(training)) {
            Torch.requestTf32();
        }
    }

    private static boolean asksForTf32(TrainingSpec training) {
        return training.autocast || training.autocastLm;
    }

    /** The device as the plan reports it, with TF32 named where float32 products use it. */
    private static String describe(Device device, TrainingSpec training) {
        if (!device.isGpu()) {
            return device.toString();
        }
        return device + (Torch.tf32() ? ", float32 products on TF32"
                : asksForTf32(training) ? ", float32 products in IEEE float32 (libtorch had loaded before TF32 was asked for)" : "");
    }

    private static Device device(TrainingSpec.Device wanted) {
        Device device = Torch.device(wanted != TrainingSpec.Device.CPU);
        if (wanted == TrainingSpec.Device.CUDA && !device.isGpu()) {
            throw new IllegalArgumentException("spec.training.device is cuda, but no GPU is visible to libtorch here");
        }
        return device;
    }

    /** The activation source a spec describes: synthetic, or a language model's activations over a dataset. */
    static ActivationSource openSource(TrainingRunSpec spec) throws IOException {
        if (spec.synthetic != null) {
            return new SyntheticSuperposition(spec.synthetic, spec.training.seed);
        }
        return LanguageModelActivations.open(spec, device(spec.training.device), ModelSources.fromEnvironment(),
                LanguageModelActivations.Threads.fromEnvironment());
    }

    /**
     * SAELens' expected_average_only_in: s = √d_in / E‖x‖ over n batches drawn (and consumed)
     * before training; 1 when normalisation is off.
     */
    static double activationScale(SaeSpec sae, ActivationSource source, NDManager manager, int batchSize) {
        if (sae.normalizeActivations != SaeSpec.ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN) {
            return 1.0;
        }
        double sumOfMeans = 0;
        for (int i = 0; i < sae.nBatchesForNormEstimate; i++) {
            try (NDScope scope = new NDScope()) {
                sumOfMeans += Torch.scalar(source.next(manager, batchSize).norm(new int[]{1}).mean());
            }
        }
        return Math.sqrt(source.dIn()) / (sumOfMeans / sae.nBatchesForNormEstimate);
    }

    static Path stagingDirectory(String run, String checkpoint) throws IOException {
        return Files.createTempDirectory("saeforge-" + run + "-" + checkpoint + "-");
    }
}
