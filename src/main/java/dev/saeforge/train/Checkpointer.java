package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.saeforge.api.DatasetSpec;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.data.InputFiles;
import dev.saeforge.sae.SaeArchitecture;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.store.CheckpointManifest;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.Directories;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.SafetensorsArrays;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes and reads a run's checkpoints. One checkpoint per token count holds every SAE of the run
 * and the activation stream's position, so resuming restores them together:
 * <pre>
 * &lt;run&gt;/&lt;tokens&gt;/trainingrun.yaml              the run, to refuse resuming a different one
 *                   activation_stream.json(+.safetensors)  the stream's position (and its buffers' unserved rows)
 *                   inputs.json                    the model revision and dataset files the stream reads, for a resume to read the same
 *                   metrics.jsonl                  every metric logged since the run started ({@link MetricsHistory})
 *                   &lt;sae&gt;/cfg.json, sae_weights...  a SAELens directory per SAE, with its trainer state
 *                   manifest.json                  written last by the store: the checkpoint is complete
 * </pre>
 * A run of one SAE keeps that SAE's SAELens files in the checkpoint directory itself. A checkpoint
 * is staged locally and published to the run's {@link CheckpointStore}, which makes it visible only
 * once complete.
 */
final class Checkpointer implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String STREAM_POSITION = "activation_stream.json";
    static final String STREAM_ARRAYS = "activation_stream.safetensors";
    /** Spec sections that may change between attempts without changing what is trained. */
    private static final List<String> FREE_TO_CHANGE = List.of("resources", "telemetry", "checkpoints", "resumeFrom", "maxRestarts", "suspend",
            "cancel", "report");
    private static final Logger LOG = Logger.getLogger(Checkpointer.class);
    private static final Pattern HUB_DATASET = Pattern.compile("hf://datasets/([^/@:]+/[^/@:]+)");

    private final RunIdentity run;
    private final TrainingRunSpec spec;
    private final CheckpointStore store;
    private final ActivationSource source;
    private final TrainingListener listener;
    private final boolean single;
    /** What the run logged so far, which each checkpoint keeps as metrics.jsonl. */
    private final MetricsHistory.Recorder history;

    Checkpointer(RunIdentity run, TrainingRunSpec spec, CheckpointStore store, ActivationSource source, TrainingListener listener,
                 boolean single) throws IOException {
        this.run = run;
        this.spec = spec;
        this.store = store;
        this.source = source;
        this.listener = listener;
        this.single = single;
        this.history = new MetricsHistory.Recorder(run.name());
    }

    /** Records each SAE's logged training metrics ({@code metrics}, one per SAE of {@code saes}) for the checkpoints' history. */
    void logged(List<SaeState> saes, List<Metrics> metrics) throws IOException {
        for (Metrics m : metrics) {
            SaeState sae = saes.stream().filter(s -> s.name().equals(m.sae())).findFirst().orElseThrow();
            history.append(new MetricsHistory.Entry(m.sae(), MetricsHistory.TRAIN, m.step(), m.tokens(),
                    numbers(metricsJson(m, sae.architecture()))));
        }
    }

    /** Records SAE {@code sae}'s held-out evaluation after {@code step} steps and {@code tokens} tokens for the checkpoints' history. */
    void evaluated(String sae, long step, long tokens, Evaluation evaluation) throws IOException {
        Map<String, Object> figures = new LinkedHashMap<>(evaluation.toJson());
        figures.remove("evaluation_rows");   // how much was evaluated, not a figure of the SAE
        history.append(new MetricsHistory.Entry(sae, MetricsHistory.EVAL, step, tokens, numbers(figures)));
    }

    private static Map<String, Double> numbers(Map<String, Object> json) {
        Map<String, Double> out = new LinkedHashMap<>();
        json.forEach((key, value) -> {
            if (value instanceof Number number) {
                out.put(key, number.doubleValue());
            }
        });
        return out;
    }

    @Override
    public void close() throws IOException {
        history.close();
    }

    /** Where SAE {@code name}'s files are inside a checkpoint: "" for a single-SAE run, else its name. */
    String directoryOf(String name) {
        return single ? "" : name;
    }

    /**
     * Publishes checkpoint {@code name} of every SAE ({@code metrics}: each SAE's latest logged
     * metrics, by name; may be empty). A final checkpoint records each SAE's final evaluation.
     */
    CheckpointRef write(String name, List<SaeState> saes, Map<String, Metrics> metrics, boolean isFinal) throws IOException {
        Instant start = Instant.now();
        String runName = run.name();
        long steps = saes.get(0).trainer().stepsDone();
        long tokens = saes.get(0).trainer().tokensDone();
        Path dir = Files.createTempDirectory("saeforge-" + runName + "-" + name + "-");
        try {
            List<Map<String, Object>> saeInfo = new ArrayList<>();
            for (SaeState sae : saes) {
                Path saeDir = single ? dir : Files.createDirectories(dir.resolve(sae.name()));
                saeInfo.add(writeSae(saeDir, sae, metrics.get(sae.name()), tokens, isFinal));
            }
            writeStream(dir);
            history.copyInto(dir);
            Files.writeString(dir.resolve(SaeLensCheckpoint.TRAINING_RUN), TrainingRuns.toYaml(TrainingRuns.document(run, spec)));
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("step", steps);
            info.put("tokens", tokens);
            info.put("final", isFinal);
            if (single) {
                // A single SAE's figures stay where readers of earlier checkpoints look for them.
                Map<String, Object> only = new LinkedHashMap<>(saeInfo.get(0));
                List.of("name", "hook", "directory").forEach(only::remove);
                info.putAll(only);
            }
            info.put("saes", saeInfo);
            CheckpointRef ref = store.publish(run, name, dir, info);
            applyRetention(ref);
            Map<String, Object> attributes = new LinkedHashMap<>();
            attributes.put("checkpoint", name);
            attributes.put("uri", ref.uri());
            attributes.put("bytes", ref.bytes());
            attributes.put("tokens", tokens);
            attributes.put("saes", saes.size());
            listener.timed(new Operation("checkpoint", start, Instant.now(), attributes));
            listener.checkpointed(ref);
            return ref;
        } finally {
            Directories.deleteTree(dir);
        }
    }

    /**
     * Deletes the checkpoints spec.checkpoints.keep leaves out, now that {@code published} is the
     * latest. Failing to is a warning, not a failed checkpoint: the next publish tries again.
     */
    private void applyRetention(CheckpointRef published) {
        try {
            store.retain(run.name(), spec.checkpoints.keep, published.name());
        } catch (IOException e) {
            LOG.warnf("Could not delete old checkpoints of %s (spec.checkpoints.keep: %d): %s; trying again after the next checkpoint",
                    run.name(), spec.checkpoints.keep, e.getMessage());
        }
    }

    /**
     * The checkpoint this run continues from: its own newest (written under its uid); else
     * spec.resumeFrom; else none, when the run's location holds no checkpoint of another run. A
     * checkpoint of another uid (a run of this name that was deleted) is refused unless
     * spec.resumeFrom says where to start.
     */
    static Optional<ResumePoint> resumePoint(RunIdentity run, TrainingRunSpec spec, CheckpointStore store) throws IOException {
        Optional<CheckpointRef> own = store.latest(run.name(), writer -> Objects.equals(writer.uid(), run.uid()));
        if (own.isPresent()) {
            return Optional.of(new ResumePoint(store, own.get(), false));
        }
        if (spec.resumeFrom != null) {
            return Optional.of(ResumePoint.at(spec.resumeFrom));
        }
        Optional<CheckpointRef> other = store.latest(run.name());
        if (other.isPresent()) {
            RunIdentity writer = store.manifest(run.name(), other.get().name()).map(CheckpointManifest::writer).orElseThrow();
            throw new IllegalArgumentException("checkpoint " + other.get().uri() + " was written by run " + writer.name()
                    + (writer.uid() == null ? " outside a cluster" : " with uid " + writer.uid()) + ", not by this one"
                    + (run.uid() == null ? "" : " (uid " + run.uid() + ")") + ", which does not resume another run's checkpoints;"
                    + " set spec.resumeFrom: " + other.get().uri() + " to continue from it, or delete the old checkpoints");
        }
        return Optional.empty();
    }

    /**
     * A checkpoint to resume from and the store that holds it: the run's own, or ({@code fromSpec})
     * the one spec.resumeFrom names, whose store closing this closes.
     */
    record ResumePoint(CheckpointStore store, CheckpointRef checkpoint, boolean fromSpec) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            if (fromSpec) {
                store.close();
            }
        }

        /** The checkpoint at address {@code uri}, <location>/<run>/<name>: opens its store, which the caller closes. */
        static ResumePoint at(String uri) throws IOException {
            String trimmed = uri.replaceAll("/+$", "");
            int nameAt = trimmed.lastIndexOf('/');
            int runAt = nameAt > 0 ? trimmed.lastIndexOf('/', nameAt - 1) : -1;
            if (runAt <= 0 || trimmed.substring(0, runAt).endsWith(":/")) {
                throw new IllegalArgumentException("spec.resumeFrom \"" + uri + "\" does not name a checkpoint; expected "
                        + "s3://BUCKET/PREFIX/RUN/NAME, file://PATH/RUN/NAME or PATH/RUN/NAME");
            }
            String runName = trimmed.substring(runAt + 1, nameAt);
            String name = trimmed.substring(nameAt + 1);
            CheckpointStore from = CheckpointStore.open(trimmed.substring(0, runAt));
            try {
                List<CheckpointRef> refs = from.list(runName);
                CheckpointRef ref = refs.stream().filter(r -> r.name().equals(name) && r.complete()).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("spec.resumeFrom: " + from.uri() + "/" + runName
                                + " holds no complete checkpoint " + name + (refs.isEmpty() ? "" : "; it has "
                                + String.join(", ", refs.stream().filter(CheckpointRef::complete).map(CheckpointRef::name).toList()))));
                return new ResumePoint(from, ref, true);
            } catch (IOException | RuntimeException e) {
                from.close();
                throw e;
            }
        }
    }

    /** One SAE's SAELens directory and trainer state; returns what the manifest records of it. */
    private Map<String, Object> writeSae(Path dir, SaeState sae, Metrics metrics, long tokens, boolean isFinal) throws IOException {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("name", sae.name());
        info.put("hook", sae.definition().hook());
        info.put("directory", directoryOf(sae.name()));
        info.put("dead_features", sae.stats().deadCount());
        if (metrics != null) {
            info.put("metrics", metricsJson(metrics, sae.architecture()));
        }
        Map<String, Object> extraMetadata = new LinkedHashMap<>();
        if (sae.lastEvaluation() != null) {
            Map<String, Object> evaluation = new LinkedHashMap<>(sae.lastEvaluation().toJson());
            if (!isFinal) {
                evaluation.put("evaluation_step", sae.lastEvaluationStep());
            }
            info.put("evaluation", evaluation);
            extraMetadata.putAll(evaluation);
        }
        JSON.writeValue(dir.resolve(SaeLensCheckpoint.CONFIG).toFile(), cfg(sae, tokens, extraMetadata, isFinal));
        // A training checkpoint keeps what SAELens' save_model keeps (parameters and buffers); the
        // final one what save_inference_model writes, which is what SAE.load_from_disk reads.
        Safetensors.Writer weights = Safetensors.writer();
        if (isFinal) {
            sae.sae().inferenceWeights().forEach((key, value) -> add(weights, key, value));
        } else {
            sae.sae().parameters().forEach((key, value) -> add(weights, key, value));
            sae.sae().buffers().forEach((key, value) -> add(weights, key, value));
        }
        weights.write(dir.resolve(SaeLensCheckpoint.WEIGHTS));
        Safetensors.Writer sparsity = Safetensors.writer();
        add(sparsity, "sparsity", sae.stats().log10Sparsity());
        sparsity.write(dir.resolve(SaeLensCheckpoint.SPARSITY));
        Map<String, Object> scaler = new LinkedHashMap<>();
        scaler.put("scaling_factor", sae.unfoldedScale() == 1.0 ? null : sae.unfoldedScale());
        JSON.writeValue(dir.resolve(SaeLensCheckpoint.ACTIVATION_SCALER).toFile(), scaler);
        TrainerState.write(dir, sae);
        return info;
    }

    private void writeStream(Path dir) throws IOException {
        Map<String, NDArray> arrays = source.positionArrays();
        if (!arrays.isEmpty()) {
            Safetensors.Writer tensors = Safetensors.writer();
            arrays.forEach((name, array) -> add(tensors, name, array));
            tensors.write(dir.resolve(STREAM_ARRAYS));
        }
        JSON.writeValue(dir.resolve(STREAM_POSITION).toFile(), Map.of("position", source.position()));
        Optional<InputFiles> inputs = source.inputs();
        if (inputs.isPresent()) {
            Files.write(dir.resolve(InputFiles.FILE_NAME), inputs.get().toJson());
        }
    }

    /**
     * The model revision and dataset files {@code checkpoint} records its run reading, for the
     * resumed run to read the same; empty when it records none (a synthetic run, or a checkpoint
     * written before checkpoints recorded them).
     */
    static Optional<InputFiles> inputsOf(ResumePoint from) throws IOException {
        CheckpointStore store = from.store();
        CheckpointRef checkpoint = from.checkpoint();
        Optional<CheckpointManifest> manifest = store.manifest(checkpoint.run(), checkpoint.name());
        if (manifest.isEmpty() || manifest.get().files().stream().noneMatch(file -> file.path().equals(InputFiles.FILE_NAME))) {
            return Optional.empty();
        }
        try (InputStream in = store.read(checkpoint.run(), checkpoint.name(), InputFiles.FILE_NAME)) {
            return Optional.of(InputFiles.parse(in.readAllBytes(), checkpoint.uri() + "/" + InputFiles.FILE_NAME));
        }
    }

    /**
     * Restores every SAE and the stream from checkpoint {@code from}, refusing one whose
     * spec differs from this run's in anything that changes the training.
     */
    List<SaeState> resume(ResumePoint from, List<SaeDefinition> definitions, List<Integer> hookIndices, NDManager manager) throws IOException {
        CheckpointRef checkpoint = from.checkpoint();
        String where = checkpoint.uri();
        Path dir = Files.createTempDirectory("saeforge-resume-");
        List<SaeState> out = new ArrayList<>();
        try {
            from.store().pull(checkpoint.run(), checkpoint.name(), dir);
            checkSameTraining(dir.resolve(SaeLensCheckpoint.TRAINING_RUN), where);
            // What the interrupted attempt logged after this checkpoint is lost with it: the history goes on from here.
            history.continueFrom(dir.resolve(MetricsHistory.FILE));
            for (int i = 0; i < definitions.size(); i++) {
                SaeDefinition definition = definitions.get(i);
                String hook = source.hooks().get(hookIndices.get(i));
                out.add(SaeState.resume(definition, hookIndices.get(i), source.dIn(hook), dir.resolve(directoryOf(definition.name())),
                        where, manager));
            }
            JsonNode position = JSON.readTree(dir.resolve(STREAM_POSITION).toFile()).path("position");
            Map<String, NDArray> arrays = Files.exists(dir.resolve(STREAM_ARRAYS))
                    ? TrainerState.readAll(dir.resolve(STREAM_ARRAYS), manager) : Map.of();
            try {
                source.seek(JSON.convertValue(position, new TypeReference<Map<String, Object>>() {
                }), arrays);
            } finally {
                arrays.values().forEach(NDArray::close);
            }
            return out;
        } catch (IOException | RuntimeException e) {
            out.forEach(SaeState::close);
            throw e;
        } finally {
            Directories.deleteTree(dir);
        }
    }

    /**
     * cfg.json: the keys SAELens' loader reads (§4.3 of the format), the architecture's own
     * training keys, and metadata describing where the activations came from.
     */
    private Map<String, Object> cfg(SaeState state, long tokens, Map<String, Object> extraMetadata, boolean isFinal) {
        Map<String, Object> trained = new LinkedHashMap<>();
        trained.put("training_tokens", tokens);
        trained.put("num_dead_features", state.stats().deadCount());   // SAELens #717
        trained.putAll(extraMetadata);
        // SAELens' set_final_sae_metadata: l0 over the last training window, at the end (not the evaluation's l0).
        Double l0 = isFinal ? state.stats().meanL0() : null;
        if (l0 != null) {
            trained.put("l0", l0);
        }
        return cfg(run, spec, state.definition(), state.sae().dIn(), state.unfoldedScale(), spec.synthetic == null ? source.metadata() : Map.of(),
                trained, isFinal);
    }

    /**
     * cfg.json of SAE {@code definition} (of width {@code dIn}, with activations scaled by
     * {@code unfoldedScale} until it is folded) in run {@code run}: what its spec says, then
     * {@code sourceMetadata} (what the activation stream found when it opened) and
     * {@code trained} (what training gave: token count, statistics, evaluation) in its metadata.
     */
    static Map<String, Object> cfg(RunIdentity run, TrainingRunSpec spec, SaeDefinition definition, int dIn, double unfoldedScale,
                                   Map<String, Object> sourceMetadata, Map<String, Object> trained, boolean isFinal) {
        SaeSpec sae = definition.sae();
        boolean scaled = unfoldedScale != 1.0;
        SaeArchitecture architecture = SaeArchitectures.of(sae.architecture);
        Map<String, Object> cfg = new LinkedHashMap<>(isFinal ? architecture.inferenceCfg(sae, dIn)
                : architecture.cfg(sae, dIn));
        cfg.put("dtype", "float32");
        cfg.put("device", "cpu");
        // Unfolded mid-training checkpoints say so, with the factor in activation_scaler.json.
        cfg.put("normalize_activations", scaled ? "expected_average_only_in" : sae.normalizeActivations.atRunTime() ? sae.normalizeActivations.value() : "none");
        cfg.put("reshape_activations", "none");

        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("sae_lens_version", SaeLensCheckpoint.SAE_LENS_FORMAT_VERSION);
        metadata.put("sae_lens_training_version", SaeLensCheckpoint.SAE_LENS_FORMAT_VERSION);
        metadata.put("saeforge_run", run.name());
        metadata.put("saeforge_run_uid", run.uid());
        metadata.put("saeforge_sae", definition.name());
        if (spec.synthetic != null) {
            metadata.put("model_name", "saeforge/toy-superposition");
            metadata.put("hook_name", "synthetic");
            metadata.put("hook_head_index", null);
            metadata.put("context_size", 1);
            metadata.put("prepend_bos", false);
            metadata.put("dataset_path", "synthetic://superposition?features=" + spec.synthetic.features + "&d_in="
                    + spec.synthetic.dIn + "&p=" + spec.synthetic.firingProbability + "&seed=" + spec.training.seed);
        } else {
            DatasetSpec dataset = spec.dataset;
            metadata.put("model_name", spec.model.name);
            metadata.put("hook_name", definition.hook());
            metadata.put("hook_head_index", null);
            metadata.put("context_size", dataset.contextSize);
            metadata.put("prepend_bos", dataset.prependBos);
            metadata.put("dataset_path", saeLensDatasetPath(dataset.uri));
            metadata.put("saeforge_dataset_uri", dataset.uri);
            metadata.put("sequence_separator_token", switch (dataset.sequenceSeparator) {
                case BOS -> "bos";
                case EOS -> "eos";
                case NONE -> null;
            });
            metadata.put("disable_concat_sequences", dataset.disableConcatSequences);
            metadata.put("seqpos_slice", dataset.seqposSlice.values());
            metadata.put("exclude_special_tokens", Mappers.json().convertValue(dataset.excludeSpecialTokens, Object.class));
            metadata.putAll(sourceMetadata);
        }
        metadata.putIfAbsent("seqpos_slice", Arrays.asList((Object) null));
        metadata.put("model_class_name", "HookedTransformer");
        metadata.putIfAbsent("model_from_pretrained_kwargs", Map.of("center_writing_weights", false));
        metadata.putIfAbsent("exclude_special_tokens", false);
        metadata.put("training_architecture", architecture.name());
        metadata.putAll(trained);
        cfg.put("metadata", metadata);
        return cfg;
    }

    /**
     * dataset_path as SAELens' load_dataset takes it: a hub dataset's repository id (its revision
     * is metadata.dataset_revision), any other location as written.
     */
    static String saeLensDatasetPath(String uri) {
        Matcher hub = HUB_DATASET.matcher(uri);
        return hub.lookingAt() ? hub.group(1) : uri;
    }

    /** A step's metrics under the names SAELens logs them by, for {@code architecture}'s loss terms. */
    private static Map<String, Object> metricsJson(Metrics m, SaeArchitecture architecture) {
        SaeArchitecture.Losses names = architecture.losses();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("overall_loss", m.overallLoss());
        out.put("mse_loss", m.mseLoss());
        if (names.sparsity() != null) {
            out.put(names.sparsity(), m.sparsityLoss());
        }
        if (names.auxiliary() != null) {
            out.put(names.auxiliary(), m.auxiliaryLoss());
        }
        out.put("explained_variance", m.explainedVariance());
        out.put("l0", m.l0());
        out.put("dead_features", m.deadFeatures());
        out.put("learning_rate", m.learningRate());
        if (names.coefficient() != null) {
            out.put(names.coefficient(), m.sparsityCoefficient());
        }
        return out;
    }

    /** The checkpoint's spec must equal this one's, except in sections that do not change what is trained. */
    private void checkSameTraining(Path savedRun, String where) throws IOException {
        TrainingRunSpec saved;
        try {
            saved = TrainingRuns.readSpec(savedRun);
        } catch (InvalidSpecException e) {
            throw new IOException(where + ": its " + SaeLensCheckpoint.TRAINING_RUN + " is not valid: " + e.getMessage());
        }
        JsonNode before = Mappers.json().valueToTree(saved);
        JsonNode now = Mappers.json().valueToTree(spec);
        String difference = firstDifference(before, now, "spec");
        if (difference != null) {
            throw new IOException("cannot resume from " + where + ": " + difference
                    + "; restore that value, or give the run a new metadata.name to start afresh");
        }
    }

    private static String describe(JsonNode node) {
        return node.isMissingNode() ? "absent" : node.toString();
    }

    private static String firstDifference(JsonNode before, JsonNode now, String path) {
        if (before.equals(now)) {
            return null;
        }
        if (!before.isObject() || !now.isObject()) {
            return path + " was " + describe(before) + " when the checkpoint was written and is " + describe(now) + " now";
        }
        Set<String> keys = new TreeSet<>();
        before.fieldNames().forEachRemaining(keys::add);
        now.fieldNames().forEachRemaining(keys::add);
        for (String key : keys) {
            if (path.equals("spec") && FREE_TO_CHANGE.contains(key)) {
                continue;
            }
            String inner = firstDifference(before.path(key), now.path(key), path + "." + key);
            if (inner != null) {
                return inner;
            }
        }
        return null;
    }

    /** Adds a float tensor as F32, streamed from the array a block at a time when the file is written (whatever its size). */
    static void add(Safetensors.Writer writer, String name, NDArray value) {
        writer.add(name, Safetensors.Dtype.F32, value.getShape().getShape(), SafetensorsArrays.float32(value));
    }

}
