package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.Mappers;
import dev.saeforge.data.ActivationSource;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.SafetensorsArrays;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything besides the weights that a resumed SAE needs to continue exactly where it stopped:
 * Adam's moments and step, the firing statistics, the step and token counters and the activation
 * scale. Tensors go to trainer_state.safetensors, the rest to trainer_state.json, in the SAE's
 * checkpoint directory.
 */
record TrainerState(Map<String, NDArray> weights, long steps, long tokens, long adamSteps,
                    Map<String, NDArray> firstMoments, Map<String, NDArray> secondMoments,
                    NDArray stepsSinceFired, NDArray windowCounts, NDArray lastWindowFraction,
                    long windowTokens, long windowSteps, boolean lastWindowComplete,
                    double activationScale) implements AutoCloseable {

    /** Tensor-name prefixes of Adam's moments of each parameter, and the names of the firing statistics, in trainer_state. */
    static final String FIRST_MOMENT = "adam.exp_avg.";
    static final String SECOND_MOMENT = "adam.exp_avg_sq.";
    static final String STEPS_SINCE_FIRED = "features.steps_since_fired";
    static final String WINDOW_COUNTS = "features.window_counts";
    static final String LAST_WINDOW_FRACTION = "features.last_window_fraction";
    static final List<String> FEATURE_STATISTICS = List.of(STEPS_SINCE_FIRED, WINDOW_COUNTS, LAST_WINDOW_FRACTION);

    static void write(Path dir, SaeState sae) throws IOException {
        Adam adam = sae.adam();
        FeatureStats stats = sae.stats();
        Safetensors.Writer tensors = Safetensors.writer();
        adam.firstMoments().forEach((name, m) -> Checkpointer.add(tensors, FIRST_MOMENT + name, m));
        adam.secondMoments().forEach((name, v) -> Checkpointer.add(tensors, SECOND_MOMENT + name, v));
        Checkpointer.add(tensors, STEPS_SINCE_FIRED, stats.stepsSinceFired());
        Checkpointer.add(tensors, WINDOW_COUNTS, stats.windowCounts());
        Checkpointer.add(tensors, LAST_WINDOW_FRACTION, stats.lastWindowFraction());
        tensors.write(dir.resolve(SaeLensCheckpoint.TRAINER_STATE));

        Map<String, Object> counters = new LinkedHashMap<>();
        counters.put("steps", sae.trainer().stepsDone());
        counters.put("tokens", sae.trainer().tokensDone());
        counters.put("adam_steps", adam.steps());
        counters.put("window_tokens", stats.windowTokens());
        counters.put("window_steps", stats.windowSteps());
        counters.put("last_window_complete", stats.lastWindowComplete());
        counters.put("activation_scale", sae.activationScale());
        counters.put("weights_folded", sae.folded());
        Checkpointer.JSON.writeValue(dir.resolve(SaeLensCheckpoint.TRAINER_COUNTERS).toFile(), counters);
    }

    /** Reads an SAE's state back from its checkpoint directory {@code dir} (of checkpoint {@code checkpoint}, for messages). */
    static TrainerState read(Path dir, String checkpoint, NDManager manager) throws IOException {
        JsonNode counters = Checkpointer.JSON.readTree(dir.resolve(SaeLensCheckpoint.TRAINER_COUNTERS).toFile());
        if (counters.path("weights_folded").asBoolean()) {
            throw new IOException(checkpoint + " holds folded final weights; a run cannot resume from it");
        }
        Map<String, NDArray> weights = readAll(dir.resolve(SaeLensCheckpoint.WEIGHTS), manager);
        Map<String, NDArray> state = readAll(dir.resolve(SaeLensCheckpoint.TRAINER_STATE), manager);
        Map<String, NDArray> first = new LinkedHashMap<>();
        Map<String, NDArray> second = new LinkedHashMap<>();
        for (String name : weights.keySet()) {   // Adam keeps moments of every parameter (buffers have none; Adam checks)
            if (state.containsKey(FIRST_MOMENT + name)) {
                first.put(name, state.get(FIRST_MOMENT + name));
                second.put(name, required(state, SECOND_MOMENT + name, checkpoint));
            }
        }
        return new TrainerState(weights, counters.path("steps").asLong(), counters.path("tokens").asLong(),
                counters.path("adam_steps").asLong(), first, second,
                required(state, STEPS_SINCE_FIRED, checkpoint), required(state, WINDOW_COUNTS, checkpoint),
                required(state, LAST_WINDOW_FRACTION, checkpoint), counters.path("window_tokens").asLong(),
                counters.path("window_steps").asLong(), counters.path("last_window_complete").asBoolean(),
                counters.path("activation_scale").asDouble(1.0));
    }

    void restoreInto(SaeState sae) {
        sae.trainer().restoreCounters(steps, tokens);
        sae.adam().restore(adamSteps, firstMoments, secondMoments);
        sae.stats().restore(stepsSinceFired, windowCounts, lastWindowFraction, windowTokens, windowSteps, lastWindowComplete);
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
    }

    static Map<String, NDArray> readAll(Path file, NDManager manager) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (Safetensors.Reader reader = Safetensors.read(file)) {
            for (Safetensors.Tensor tensor : reader.tensors().values()) {
                out.put(tensor.name(), SafetensorsArrays.readFloat32(reader, tensor.name(), manager));
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
}
