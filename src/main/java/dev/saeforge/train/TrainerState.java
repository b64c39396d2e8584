package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything besides the weights that a resumed run needs to continue exactly where it stopped:
 * Adam's moments and step, the firing statistics, the step and token counters, the activation
 * scale and the data position (with its arrays, such as a mixing buffer's unserved rows). Tensors
 * go to trainer_state.safetensors, the rest to trainer_state.json.
 */
record TrainerState(Map<String, NDArray> weights, long steps, long tokens, long adamSteps,
                    Map<String, NDArray> firstMoments, Map<String, NDArray> secondMoments,
                    NDArray stepsSinceFired, NDArray windowCounts, NDArray lastWindowFraction,
                    long windowTokens, long windowSteps, boolean lastWindowComplete,
                    double activationScale, Map<String, Object> sourcePosition, Map<String, NDArray> sourceArrays) implements AutoCloseable {

    /** Prefix of the activation source's position arrays (e.g. its mixing buffer's rows) in trainer_state.safetensors. */
    private static final String SOURCE_PREFIX = "source.";
    /** Spec sections that may change between attempts without changing what is trained. */
    private static final List<String> FREE_TO_CHANGE = List.of("resources", "telemetry", "checkpoints", "maxRestarts", "suspend", "cancel");

    static void write(Path dir, SaeTrainer trainer, Adam adam, FeatureStats stats, ActivationSource source,
                      double activationScale, boolean folded) throws IOException {
        Safetensors.Writer tensors = Safetensors.writer();
        adam.firstMoments().forEach((name, m) -> Checkpointer.add(tensors, "adam.exp_avg." + name, m));
        adam.secondMoments().forEach((name, v) -> Checkpointer.add(tensors, "adam.exp_avg_sq." + name, v));
        Checkpointer.add(tensors, "features.steps_since_fired", stats.stepsSinceFired());
        Checkpointer.add(tensors, "features.window_counts", stats.windowCounts());
        Checkpointer.add(tensors, "features.last_window_fraction", stats.lastWindowFraction());
        source.positionArrays().forEach((name, array) -> Checkpointer.add(tensors, SOURCE_PREFIX + name, array));
        tensors.write(dir.resolve(SaeLensCheckpoint.TRAINER_STATE));

        Map<String, Object> counters = new LinkedHashMap<>();
        counters.put("steps", trainer.stepsDone());
        counters.put("tokens", trainer.tokensDone());
        counters.put("adam_steps", adam.steps());
        counters.put("window_tokens", stats.windowTokens());
        counters.put("window_steps", stats.windowSteps());
        counters.put("last_window_complete", stats.lastWindowComplete());
        counters.put("activation_scale", activationScale);
        counters.put("weights_folded", folded);
        counters.put("source_position", source.position());
        Checkpointer.JSON.writeValue(dir.resolve(SaeLensCheckpoint.TRAINER_COUNTERS).toFile(), counters);
    }

    /**
     * Reads a run's checkpoint back, refusing one whose TrainingRun differs from {@code run} in
     * anything that changes the training.
     */
    static TrainerState read(CheckpointStore store, String runName, String checkpoint, TrainingRun run, NDManager manager) throws IOException {
        Path dir = Files.createTempDirectory("saeforge-resume-");
        try {
            store.pull(runName, checkpoint, dir);
            checkSameTraining(dir.resolve(SaeLensCheckpoint.TRAINING_RUN), run, store.uri() + "/" + runName + "/" + checkpoint);
            JsonNode counters = Checkpointer.JSON.readTree(dir.resolve(SaeLensCheckpoint.TRAINER_COUNTERS).toFile());
            if (counters.path("weights_folded").asBoolean()) {
                throw new IOException(checkpoint + " holds folded final weights; a run cannot resume from it");
            }
            Map<String, NDArray> weights = readAll(dir.resolve(SaeLensCheckpoint.WEIGHTS), manager, "");
            Map<String, NDArray> state = readAll(dir.resolve(SaeLensCheckpoint.TRAINER_STATE), manager, "");
            Map<String, NDArray> first = new LinkedHashMap<>();
            Map<String, NDArray> second = new LinkedHashMap<>();
            for (String name : SaeLensCheckpoint.JUMPRELU_WEIGHTS) {
                first.put(name, required(state, "adam.exp_avg." + name, checkpoint));
                second.put(name, required(state, "adam.exp_avg_sq." + name, checkpoint));
            }
            Map<String, Object> position = Checkpointer.JSON.convertValue(counters.path("source_position"), new TypeReference<>() {
            });
            Map<String, NDArray> sourceArrays = new LinkedHashMap<>();
            state.forEach((key, array) -> {
                if (key.startsWith(SOURCE_PREFIX)) {
                    sourceArrays.put(key.substring(SOURCE_PREFIX.length()), array);
                }
            });
            return new TrainerState(weights, counters.path("steps").asLong(), counters.path("tokens").asLong(),
                    counters.path("adam_steps").asLong(), first, second,
                    required(state, "features.steps_since_fired", checkpoint), required(state, "features.window_counts", checkpoint),
                    required(state, "features.last_window_fraction", checkpoint), counters.path("window_tokens").asLong(),
                    counters.path("window_steps").asLong(), counters.path("last_window_complete").asBoolean(),
                    counters.path("activation_scale").asDouble(1.0), position, sourceArrays);
        } finally {
            Checkpointer.deleteRecursively(dir);
        }
    }

    void restoreInto(SaeTrainer trainer, Adam adam, FeatureStats stats, ActivationSource source) {
        trainer.restoreCounters(steps, tokens);
        adam.restore(adamSteps, firstMoments, secondMoments);
        stats.restore(stepsSinceFired, windowCounts, lastWindowFraction, windowTokens, windowSteps, lastWindowComplete);
        source.seek(sourcePosition, sourceArrays);
    }

    /** Frees the arrays read from the checkpoint once they have been copied into the live state. */
    @Override
    public void close() {
        weights.values().forEach(NDArray::close);
        firstMoments.values().forEach(NDArray::close);
        secondMoments.values().forEach(NDArray::close);
        stepsSinceFired.close();
        windowCounts.close();
        lastWindowFraction.close();
        sourceArrays.values().forEach(NDArray::close);
    }

    private static Map<String, NDArray> readAll(Path file, NDManager manager, String prefix) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (Safetensors.Reader reader = Safetensors.read(file)) {
            for (Safetensors.Tensor tensor : reader.tensors().values()) {
                out.put(prefix + tensor.name(), manager.create(reader.floats(tensor.name()), new Shape(tensor.shape())));
            }
        }
        return out;
    }

    private static NDArray required(Map<String, NDArray> state, String key, String checkpoint) throws IOException {
        NDArray value = state.get(key);
        if (value == null) {
            throw new IOException("checkpoint " + checkpoint + ": " + SaeLensCheckpoint.TRAINER_STATE + " lacks " + key);
        }
        return value;
    }

    /** The checkpoint's spec must equal this one's, except in sections that do not change what is trained. */
    private static void checkSameTraining(Path savedRun, TrainingRun run, String where) throws IOException {
        TrainingRun saved;
        try {
            saved = TrainingRuns.read(savedRun).get(0);
        } catch (InvalidSpecException e) {
            throw new IOException(where + ": its " + SaeLensCheckpoint.TRAINING_RUN + " is not valid: " + e.getMessage());
        }
        JsonNode before = Mappers.json().valueToTree(saved.getSpec());
        JsonNode now = Mappers.json().valueToTree(run.getSpec());
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
        java.util.Set<String> keys = new java.util.TreeSet<>();
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
}
