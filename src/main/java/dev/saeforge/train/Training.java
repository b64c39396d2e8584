package dev.saeforge.train;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.cache.CacheFiles;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.data.CachedActivations;
import dev.saeforge.data.InputFiles;
import dev.saeforge.data.LanguageModelActivations;
import dev.saeforge.data.SyntheticSuperposition;
import dev.saeforge.data.ThreadSettings;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.NonFiniteActivationException;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.tensor.Torch;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs one run's spec in this process, start to finish: one activation stream feeding every SAE
 * of the run, SAELens' checkpoint cadence, resume from the newest complete checkpoint, the
 * evaluations and the run summary.
 */
public final class Training {

    private Training() {
    }

    /** How this invocation should behave, beyond what the spec says. */
    public record Options(
            /** Stop after this many steps in this process (checkpointed, resumable); null runs to the end. */
            Long stopAfterSteps,
            /** Set from outside (SIGTERM) to stop at the next step, checkpointed. */
            StopRequest stopRequest,
            /** The threads of a language model's stream and of the SAE steps; null takes them from the environment. */
            ThreadSettings threads) {

        public Options(Long stopAfterSteps, StopRequest stopRequest) {
            this(stopAfterSteps, stopRequest, null);
        }

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

    /**
     * What a run trains on: its stream, how the stream's SAEs are evaluated, the threads the
     * trainer uses, and what the evaluation leaves out (null: nothing).
     */
    private record Stream(ActivationSource source, HeldOutEvaluation evaluation, ThreadSettings threads, String evaluationNote) {
        Stream(ActivationSource source, HeldOutEvaluation evaluation, ThreadSettings threads) {
            this(source, evaluation, threads, null);
        }
    }

    /** Trains run {@code run} as {@code spec} says, resuming from the store's newest complete checkpoint of it if there is one. */
    public static Summary run(RunIdentity run, TrainingRunSpec spec, CheckpointStore store, Options options, TrainingListener listener)
            throws IOException {
        TrainingSpec training = spec.training;
        requestTf32(training);
        if (spec.synthetic != null) {
            try (SyntheticSuperposition source = new SyntheticSuperposition(spec.synthetic, training.seed)) {
                HeldOutEvaluation evaluation = HeldOutEvaluation.rows(source, training.batchSizeTokens, training.evalBatches, source);
                Stream stream = new Stream(source, evaluation, null);
                return resuming(run, spec, store, from -> run(run, spec, stream, store, from, options, listener));
            }
        }
        List<HookPoint> hooks = hooks(spec, run.name());
        Device device = device(training.device);
        ThreadSettings threads = options.threads() != null ? options.threads() : ThreadSettings.fromEnvironment(device.isGpu());
        if (CacheReading.configured(spec)) {
            // Checked (or built) before the run's location is claimed: a cache of another run is refused before anything trains.
            CacheFiles cache = CacheReading.prepare(spec, hooks, device, ModelSources.fromEnvironment(), System.getenv(), listener);
            List<String> hookNames = hooks.stream().map(HookPoint::toString).toList();
            return resuming(run, spec, store, from -> {
                try (CachedActivations source = CachedActivations.open(cache, spec, hookNames, device)) {
                    HeldOutEvaluation evaluation = HeldOutEvaluation.rows(source, training.batchSizeTokens, training.evalBatches, null);
                    Stream stream = new Stream(source, evaluation, threads, CacheReading.EVALUATION_NOTE);
                    return run(run, spec, stream, store, from, options, listener);
                }
            });
        }
        return resuming(run, spec, store, from -> {
            // A resumed run reads the model revision and dataset files its checkpoint recorded, not what the locations hold now.
            InputFiles recorded = from.isPresent() ? Checkpointer.inputsOf(from.get()).orElse(null) : null;
            try (LanguageModelActivations source = LanguageModelActivations.open(spec, hooks, device,
                    ModelSources.fromEnvironment(), threads, recorded)) {
                Stream stream = new Stream(source, HeldOutEvaluation.spliced(source.data(), hooks), threads);
                return run(run, spec, stream, store, from, options, listener);
            }
        });
    }

    /** The distinct hooks of run {@code runName}'s SAEs, in the order the activation stream serves them. */
    public static List<HookPoint> hooks(TrainingRunSpec spec, String runName) {
        return SaeDefinition.all(spec, runName).stream().map(sae -> HookPoint.parse(sae.hook())).distinct().toList();
    }

    /** Trains run {@code run} as {@code spec} says on the activations of {@code source}, evaluating on its held-out rows. */
    public static Summary run(RunIdentity run, TrainingRunSpec spec, ActivationSource source, CheckpointStore store, Options options,
                              TrainingListener listener) throws IOException {
        TrainingSpec training = spec.training;
        requestTf32(training);
        HeldOutEvaluation evaluation = HeldOutEvaluation.rows(source, training.batchSizeTokens, training.evalBatches, null);
        Stream stream = new Stream(source, evaluation, null);
        return resuming(run, spec, store, from -> run(run, spec, stream, store, from, options, listener));
    }

    /** Training that continues from a checkpoint, or starts afresh when {@code from} is empty. */
    private interface Resumable {
        Summary train(Optional<Checkpointer.ResumePoint> from) throws IOException;
    }

    /**
     * Claims the run's location for this attempt, finds the checkpoint it continues from (before
     * the stream opens: a resumed stream reads the inputs that checkpoint recorded) and trains;
     * a run whose own final checkpoint exists is already complete.
     */
    private static Summary resuming(RunIdentity run, TrainingRunSpec spec, CheckpointStore store, Resumable training) throws IOException {
        store.claim(run);
        Optional<Checkpointer.ResumePoint> resumePoint = Checkpointer.resumePoint(run, spec, store);
        try (Checkpointer.ResumePoint closed = resumePoint.orElse(null)) {
            if (resumePoint.isPresent() && !resumePoint.get().fromSpec() && resumePoint.get().checkpoint().isFinal()) {
                return Summary.alreadyComplete(run.name(), resumePoint.get().checkpoint());
            }
            return training.train(resumePoint);
        }
    }

    private static Summary run(RunIdentity run, TrainingRunSpec spec, Stream stream, CheckpointStore store,
                               Optional<Checkpointer.ResumePoint> resumePoint, Options options, TrainingListener listener) throws IOException {
        List<SaeDefinition> definitions = SaeDefinition.all(spec, run.name());
        List<Integer> hookIndices = hookIndices(definitions, stream.source());
        try (Checkpointer checkpointer = new Checkpointer(run, spec, store, stream.source(), listener, definitions.size() == 1)) {
            return run(run, spec, stream, checkpointer, resumePoint, definitions, hookIndices, options, listener);
        }
    }

    private static Summary run(RunIdentity run, TrainingRunSpec spec, Stream stream, Checkpointer checkpointer,
                               Optional<Checkpointer.ResumePoint> resumePoint, List<SaeDefinition> definitions, List<Integer> hookIndices,
                               Options options, TrainingListener listener) throws IOException {
        String name = run.name();
        TrainingSpec training = spec.training;
        ActivationSource source = stream.source();
        Optional<CheckpointRef> latest = resumePoint.map(Checkpointer.ResumePoint::checkpoint);
        ThreadSettings threads = stream.threads() != null ? stream.threads() : new ThreadSettings(1, 1, 1);
        if (stream.threads() != null) {
            ThreadSettings.useLibtorchThreads(threads.saeThreads());
        }
        Device device = device(training.device);
        try (NDManager manager = Torch.engine().newBaseManager(device)) {
            List<SaeState> saes = resumePoint.isPresent()
                    ? checkpointer.resume(resumePoint.get(), definitions, hookIndices, manager)
                    : start(definitions, hookIndices, source, manager, training.batchSizeTokens);
            try (SaeSteps steps = new SaeSteps(saes, threads)) {
                checkReportedLatents(spec, saes);
                List<Plan.SaePlan> plans = saes.stream().map(s -> new Plan.SaePlan(s.name(), s.definition().hook(),
                        s.sae().dIn(), s.sae().dSae())).toList();
                listener.started(new Plan(name, source.describe(), describe(device, training), training.totalSteps(), training.tokens,
                        training.batchSizeTokens, latest.map(CheckpointRef::uri), saes.get(0).trainer().stepsDone(), plans));
                return loop(run, spec, stream, saes, steps, checkpointer, manager, options, listener);
            } finally {
                saes.forEach(SaeState::close);
            }
        }
    }

    /** The stream batch and step loop, checkpointing, evaluating and stopping as the spec and options say; then the final SAEs. */
    private static Summary loop(RunIdentity run, TrainingRunSpec spec, Stream stream, List<SaeState> saes, SaeSteps steps,
                                Checkpointer checkpointer, NDManager manager, Options options, TrainingListener listener)
            throws IOException {
        TrainingSpec training = spec.training;
        ActivationSource source = stream.source();
        SaeTrainer pace = saes.get(0).trainer();   // every SAE takes every step: their counters move together
        Deque<Long> thresholds = new ArrayDeque<>(checkpointThresholds(training.tokens, spec.checkpoints.count));
        while (!thresholds.isEmpty() && thresholds.peekFirst() < pace.tokensDone()) {
            thresholds.removeFirst();
        }
        Pace clock = new Pace(pace.tokensDone());
        Map<String, Metrics> last = new LinkedHashMap<>();
        long stepsThisProcess = 0;
        while (pace.tokensDone() < training.tokens) {
            try (NDScope scope = new NDScope()) {
                NDList batch;
                try {
                    batch = source.next(manager, training.batchSizeTokens);
                } catch (NonFiniteActivationException e) {
                    throw nonFinite(e.getMessage(), e, checkpointer, saes);
                }
                boolean log = (pace.stepsDone() + 1) % training.logEverySteps == 0
                        || pace.tokensDone() + training.batchSizeTokens >= training.tokens;
                List<Metrics> metrics;
                try {
                    metrics = steps.step(batch, log);
                } catch (SaeSteps.NonFiniteStep e) {
                    String who = saes.size() == 1 ? "" : "SAE " + e.sae.name() + " (" + e.sae.definition().hook() + "), ";
                    String where = e.cause.inInput ? " from " + source.describe() : " training on " + source.describe();
                    throw nonFinite(who + e.getMessage() + where, e, checkpointer, saes);
                }
                stepsThisProcess++;
                if (log) {
                    metrics.forEach(m -> last.put(m.sae(), m));
                    checkpointer.logged(saes, metrics);
                    listener.progress(clock.progress(pace.stepsDone(), pace.tokensDone(), training.totalSteps(), training.tokens, metrics));
                }
            }
            if (training.evalEverySteps > 0 && pace.stepsDone() % training.evalEverySteps == 0 && pace.tokensDone() < training.tokens) {
                evaluate(saes, stream.evaluation(), manager, checkpointer, listener);
            }
            if (!thresholds.isEmpty() && pace.tokensDone() > thresholds.peekFirst()) {
                thresholds.removeFirst();
                checkpointer.write(String.valueOf(pace.tokensDone()), saes, last, false);
            }
            boolean stepLimit = options.stopAfterSteps() != null && stepsThisProcess >= options.stopAfterSteps();
            if ((stepLimit || options.stopRequest().reason().isPresent()) && pace.tokensDone() < training.tokens) {
                CheckpointRef saved = checkpointer.write(String.valueOf(pace.tokensDone()), saes, last, false);
                return summary(run, Summary.Outcome.STOPPED, saes, clock, saved, checkpointer, stream.evaluationNote());
            }
        }
        saes.forEach(SaeState::foldActivationScale);
        evaluate(saes, stream.evaluation(), manager, checkpointer, listener);
        CheckpointRef finalCheckpoint = checkpointer.write(CheckpointRef.FINAL_PREFIX + pace.tokensDone(), saes, last, true);
        return summary(run, Summary.Outcome.COMPLETED, saes, clock, finalCheckpoint, checkpointer, stream.evaluationNote());
    }

    /** Evaluates every SAE on held-out data and tells the checkpoints' history and the listener, SAE by SAE. */
    private static void evaluate(List<SaeState> saes, HeldOutEvaluation evaluation, NDManager manager, Checkpointer checkpointer,
                                 TrainingListener listener) throws IOException {
        SaeTrainer pace = saes.get(0).trainer();
        Instant start = Instant.now();
        List<Evaluation> results = evaluation.evaluate(saes, manager);
        Map<String, Object> attributes = new LinkedHashMap<>(results.size() == 1 ? results.get(0).toJson() : Map.of());
        attributes.put("saes", saes.size());
        listener.timed(new Operation("evaluation", start, Instant.now(), attributes));
        for (int i = 0; i < saes.size(); i++) {
            saes.get(i).evaluated(pace.stepsDone(), results.get(i));
            checkpointer.evaluated(saes.get(i).name(), pace.stepsDone(), pace.tokensDone(), results.get(i));
            listener.evaluated(pace.stepsDone(), pace.tokensDone(), saes.get(i).name(), results.get(i));
        }
    }

    private static Summary summary(RunIdentity run, Summary.Outcome outcome, List<SaeState> saes, Pace clock, CheckpointRef checkpoint,
                                   Checkpointer checkpointer, String evaluationNote) {
        boolean completed = outcome == Summary.Outcome.COMPLETED;
        List<Summary.SaeSummary> each = new ArrayList<>();
        for (SaeState sae : saes) {
            String directory = checkpointer.directoryOf(sae.name());
            each.add(new Summary.SaeSummary(sae.name(), sae.definition().hook(), completed ? sae.lastEvaluation() : null,
                    completed ? sae.stats().deadCount() : null, directory.isEmpty() ? checkpoint.uri() : checkpoint.uri() + "/" + directory));
        }
        SaeTrainer pace = saes.get(0).trainer();
        return new Summary(run.name(), outcome, pace.stepsDone(), pace.tokensDone(), clock.tokensPerSecond(),
                clock.seconds(), checkpoint.uri(), each, evaluationNote);
    }

    /**
     * Stops the run on non-finite numbers ({@code cause}), checkpointing the last good state when
     * a step has completed and every SAE stands at the same step (an SAE that failed after others
     * had taken this step leaves them a step apart: the newest periodic checkpoint is then the
     * last good state).
     */
    private static NonFiniteError nonFinite(String message, RuntimeException cause, Checkpointer checkpointer, List<SaeState> saes) {
        long steps = saes.get(0).trainer().stepsDone();
        boolean together = saes.stream().allMatch(s -> s.trainer().stepsDone() == steps);
        Optional<CheckpointRef> saved = Optional.empty();
        String kept;
        if (steps == 0) {
            kept = "; no step had completed, so no checkpoint was written";
        } else if (!together) {
            kept = "; other SAEs had already taken this step, so the newest checkpoint written before it is the last good state";
        } else {
            try {
                saved = Optional.of(checkpointer.write(String.valueOf(saes.get(0).trainer().tokensDone()), saes, Map.of(), false));
                kept = "; the last good state is checkpoint " + saved.get().uri();
            } catch (IOException | RuntimeException io) {
                cause.addSuppressed(io);
                kept = "; writing a checkpoint of the last good state failed (" + io.getMessage()
                        + "), so the newest checkpoint written before it is the last good state";
            }
        }
        NonFiniteError error = new NonFiniteError(message + kept, saved);
        error.initCause(cause);
        return error;
    }

    /** spec.report.latentIndices must be latents of every SAE, now that each SAE's width is known; before the first step. */
    private static void checkReportedLatents(TrainingRunSpec spec, List<SaeState> saes) {
        List<String> problems = saes.stream().flatMap(s -> spec.report.problems(s.name(), s.sae().dSae()).stream())
                .map(Object::toString).toList();
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
    }

    /** Each SAE's hook among the stream's (a synthetic stream's one hook for SAEs without one), checking its dIn against the hook's width. */
    private static List<Integer> hookIndices(List<SaeDefinition> definitions, ActivationSource source) {
        List<Integer> out = new ArrayList<>();
        for (SaeDefinition sae : definitions) {
            int index = sae.hook() == null ? 0 : source.hooks().indexOf(sae.hook());
            if (index < 0) {
                throw new IllegalArgumentException(sae.hookPath() + " is " + sae.hook() + ", which " + source.describe() + " does not serve");
            }
            int width = source.dIn(source.hooks().get(index));
            if (sae.sae().dIn != null && sae.sae().dIn != width) {
                throw new IllegalArgumentException(sae.saePath() + ".dIn is " + sae.sae().dIn + " but " + source.describe()
                        + " gives activations of width " + width + (definitions.size() == 1 ? "" : " at " + sae.hook()));
            }
            out.add(index);
        }
        return out;
    }

    /**
     * Fresh SAEs (or spec.sae.fromPretrained's weights, loaded and checked first, before anything is
     * drawn), each with its activation scale.
     */
    private static List<SaeState> start(List<SaeDefinition> definitions, List<Integer> hookIndices, ActivationSource source,
                                        NDManager manager, int batchSize) throws IOException {
        List<TrainingSae> pretrained = new ArrayList<>();
        for (int i = 0; i < definitions.size(); i++) {
            SaeDefinition definition = definitions.get(i);
            int dIn = source.dIn(source.hooks().get(hookIndices.get(i)));
            pretrained.add(definition.sae().fromPretrained == null ? null
                    : FromPretrained.load(definition, dIn, ModelSources.fromEnvironment(), manager));
        }
        double[] scales = activationScales(definitions, hookIndices, source, manager, batchSize);
        List<SaeState> out = new ArrayList<>();
        for (int i = 0; i < definitions.size(); i++) {
            int dIn = source.dIn(source.hooks().get(hookIndices.get(i)));
            out.add(pretrained.get(i) == null
                    ? SaeState.start(definitions.get(i), hookIndices.get(i), dIn, scales[i], manager)
                    : new SaeState(definitions.get(i), hookIndices.get(i), pretrained.get(i), scales[i], manager));
        }
        return out;
    }

    /**
     * SAELens' expected_average_only_in: s = √d_in / E‖x‖ over the first n batches drawn (and
     * consumed) before training; 1 when normalisation is off. The stream draws as many batches as
     * the SAE asking for the most, and each SAE's estimate uses its first n of its hook.
     */
    static double[] activationScales(List<SaeDefinition> definitions, List<Integer> hookIndices, ActivationSource source,
                                     NDManager manager, int batchSize) {
        int n = definitions.size();
        int[] batches = new int[n];
        double[] sumOfMeans = new double[n];
        int draws = 0;
        for (int i = 0; i < n; i++) {
            SaeSpec sae = definitions.get(i).sae();
            batches[i] = sae.normalizeActivations == SaeSpec.ActivationNormalization.EXPECTED_AVERAGE_ONLY_IN ? sae.nBatchesForNormEstimate : 0;
            draws = Math.max(draws, batches[i]);
        }
        for (int b = 0; b < draws; b++) {
            try (NDScope scope = new NDScope()) {
                NDList rows = source.next(manager, batchSize);
                for (int i = 0; i < n; i++) {
                    if (b < batches[i]) {
                        sumOfMeans[i] += Torch.scalar(rows.get(hookIndices.get(i)).norm(new int[]{1}).mean());
                    }
                }
            }
        }
        double[] scales = new double[n];
        for (int i = 0; i < n; i++) {
            int dIn = source.dIn(source.hooks().get(hookIndices.get(i)));
            scales[i] = batches[i] == 0 ? 1.0 : Math.sqrt(dIn) / (sumOfMeans[i] / batches[i]);
        }
        return scales;
    }

    /**
     * SAELens' checkpoint thresholds: every multiple of ⌈tokens / (n + 1)⌉ below the budget; a
     * checkpoint is written when the tokens trained first exceed one.
     */
    static List<Long> checkpointThresholds(long tokens, int count) {
        List<Long> out = new ArrayList<>();
        if (count <= 0) {
            return out;
        }
        long every = (tokens + count) / (count + 1L);
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

    public static Device device(TrainingSpec.Device wanted) {
        Device device = Torch.device(wanted != TrainingSpec.Device.CPU);
        if (wanted == TrainingSpec.Device.CUDA && !device.isGpu()) {
            throw new IllegalArgumentException("spec.training.device is cuda, but no GPU is visible to libtorch here");
        }
        return device;
    }
}
