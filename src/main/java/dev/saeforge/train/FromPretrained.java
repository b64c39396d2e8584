package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.lm.InvalidModelException;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.sae.SaeArchitecture;
import dev.saeforge.sae.SaeArchitectures;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.SafetensorsArrays;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SAELens' from_pretrained_path: the SAE starts from the weights of an existing SAELens checkpoint
 * directory (TrainingSAE.load_from_disk: cfg.json and sae_weights.safetensors), with a fresh
 * optimiser and statistics: a starting point, not a resume. SAELens takes the whole SAE config
 * from the checkpoint; here the spec describes the SAE, so a checkpoint that differs from it in
 * architecture, d_in, d_sae, dtype or normalize_activations is refused before training, naming both.
 */
final class FromPretrained {
    /** ≤ 6.47 JumpReLU training checkpoints stored ln θ; the trainer keeps θ itself. */
    static final String LOG_THRESHOLD = "log_threshold";
    private static final ObjectMapper JSON = new ObjectMapper();

    private FromPretrained() {
    }

    /** The SAE of {@code definition} at activations of width {@code dIn}, with the weights its spec.sae.fromPretrained holds. */
    static TrainingSae load(SaeDefinition definition, int dIn, ModelSources sources, NDManager manager) throws IOException {
        SaeSpec spec = definition.sae();
        String at = definition.saePath() + ".fromPretrained";
        Path dir;
        try {
            dir = sources.resolveFiles(spec.fromPretrained, "saes", at + " checkpoint",
                    List.of(SaeLensCheckpoint.CONFIG, SaeLensCheckpoint.WEIGHTS));
        } catch (InvalidModelException e) {
            // A directory without the checkpoint's files is refused input (exit 2), as a mismatch is.
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        JsonNode cfg;
        try {
            cfg = JSON.readTree(Files.readString(dir.resolve(SaeLensCheckpoint.CONFIG)));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(at + ": " + spec.fromPretrained + "/" + SaeLensCheckpoint.CONFIG + " is not JSON: "
                    + e.getOriginalMessage());
        }
        SaeArchitecture architecture = SaeArchitectures.of(spec.architecture);
        List<String> mismatches = new ArrayList<>();
        expect(cfg, "architecture", architecture.name(), definition.saePath() + ".architecture", mismatches);
        expect(cfg, "d_in", String.valueOf(dIn), "the hook's width", mismatches);
        expect(cfg, "d_sae", String.valueOf(architecture.dSae(spec, dIn)), definition.saePath() + ".dSae", mismatches);
        expect(cfg, "dtype", "float32", "the trainer's SAE dtype", mismatches);
        expect(cfg, "normalize_activations", spec.normalizeActivations.value(), definition.saePath() + ".normalizeActivations", mismatches);
        if (!mismatches.isEmpty()) {
            throw new IllegalArgumentException(at + ": the checkpoint at " + spec.fromPretrained + " does not match the spec: "
                    + String.join("; ", mismatches));
        }
        Map<String, NDArray> values = new LinkedHashMap<>();
        try (Safetensors.Reader reader = Safetensors.read(dir.resolve(SaeLensCheckpoint.WEIGHTS))) {
            for (String name : reader.tensors().keySet()) {
                NDArray value = SafetensorsArrays.readFloat32(reader, name, manager);
                values.put(name.equals(LOG_THRESHOLD) ? TrainingSae.THRESHOLD : name, name.equals(LOG_THRESHOLD) ? value.exp() : value);
            }
            return architecture.fromParameters(spec, dIn, manager, values);
        } finally {
            values.values().forEach(NDArray::close);
        }
    }

    private static void expect(JsonNode cfg, String key, String wanted, String source, List<String> mismatches) {
        String found = cfg.path(key).asText(key.equals("normalize_activations") ? "none" : "");
        if (!found.equals(wanted)) {
            mismatches.add(SaeLensCheckpoint.CONFIG + " " + key + " is " + (found.isEmpty() ? "missing" : found) + " but " + source
                    + " is " + wanted);
        }
    }
}
