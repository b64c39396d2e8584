package dev.saeforge.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The directory SAELens' {@code SAE.load_from_disk} reads (SAELens v6 format), plus SAE Forge's
 * trainer state beside it: what is in it, and a check that a directory holds what the loader
 * needs: the weight keys exactly, their shapes and dtypes, and the cfg.json keys it indexes.
 */
public final class SaeLensCheckpoint {
    public static final String CONFIG = "cfg.json";
    public static final String WEIGHTS = "sae_weights.safetensors";
    public static final String SPARSITY = "sparsity.safetensors";
    public static final String ACTIVATION_SCALER = "activation_scaler.json";
    /** SAE Forge's optimiser, statistics and counters, for exact resume (SAELens keeps a torch pickle instead). */
    public static final String TRAINER_STATE = "trainer_state.safetensors";
    public static final String TRAINER_COUNTERS = "trainer_state.json";
    /** The normalised TrainingRun that produced the checkpoint. */
    public static final String TRAINING_RUN = "trainingrun.yaml";

    /** The four weights every SAELens architecture has. */
    private static final List<String> BASE_WEIGHTS = List.of("W_enc", "W_dec", "b_enc", "b_dec");
    /** The architectures SAE.load_from_disk loads; the other SAELens training architectures load with TrainingSAE.load_from_disk. */
    public static final List<String> INFERENCE_ARCHITECTURES = List.of("jumprelu", "topk", "standard");
    /** BatchTopK's running threshold, a 0-dimensional buffer of its training checkpoints. */
    public static final String TOPK_THRESHOLD = "topk_threshold";
    /** cfg.json keys SAELens' loader reads directly. */
    public static final List<String> REQUIRED_CONFIG_KEYS = List.of(
            "architecture", "d_in", "d_sae", "dtype", "apply_b_dec_to_input", "normalize_activations", "metadata");
    public static final List<String> REQUIRED_METADATA_KEYS = List.of(
            "sae_lens_version", "model_name", "hook_name", "context_size", "prepend_bos", "dataset_path");
    /** The SAELens release whose formats these checkpoints follow (JumpReLU: threshold stored directly, float32). */
    public static final String SAE_LENS_FORMAT_VERSION = "6.48.0";

    private static final ObjectMapper JSON = new ObjectMapper();

    private SaeLensCheckpoint() {
    }

    /**
     * The weight keys, in order, of a checkpoint whose cfg.json says {@code architecture}, as
     * SAELens' strict load_state_dict wants them; null for an architecture SAELens does not train.
     */
    public static List<String> weightNames(String architecture) {
        return switch (architecture) {
            case "jumprelu" -> List.of("W_enc", "W_dec", "b_enc", "b_dec", "threshold");
            case "topk", "standard" -> BASE_WEIGHTS;
            case "batchtopk", "matryoshka_batchtopk" -> List.of("W_enc", "W_dec", "b_enc", "b_dec", TOPK_THRESHOLD);
            default -> null;
        };
    }

    /** The cfg.json keys an architecture's config needs besides the shared ones (those whose SAELens default would be wrong). */
    static List<String> architectureKeys(String architecture) {
        return switch (architecture) {
            case "topk", "batchtopk" -> List.of("k");
            case "matryoshka_batchtopk" -> List.of("k", "matryoshka_widths");
            default -> List.of();
        };
    }

    /**
     * What keeps {@code dir} from loading in SAELens: with SAE.load_from_disk for the inference
     * architectures (jumprelu, topk, standard: what a final checkpoint holds), with
     * TrainingSAE.load_from_disk for batchtopk and matryoshka_batchtopk training checkpoints. Empty
     * when nothing does.
     */
    public static List<String> problems(Path dir) throws IOException {
        List<String> problems = new ArrayList<>();
        Path cfgFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(cfgFile)) {
            return List.of(cfgFile + " is missing");
        }
        JsonNode cfg = JSON.readTree(cfgFile.toFile());
        for (String key : REQUIRED_CONFIG_KEYS) {
            if (!cfg.has(key)) {
                problems.add(CONFIG + ": key " + key + " is missing");
            }
        }
        for (String key : REQUIRED_METADATA_KEYS) {
            if (!cfg.path("metadata").has(key)) {
                problems.add(CONFIG + ": key metadata." + key + " is missing");
            }
        }
        String architecture = cfg.path("architecture").asText();
        List<String> expected = weightNames(architecture);
        if (expected == null) {
            problems.add(CONFIG + ": architecture is \"" + architecture + "\"; expected one of " + INFERENCE_ARCHITECTURES
                    + " or a training checkpoint's batchtopk or matryoshka_batchtopk");
            expected = BASE_WEIGHTS;
        }
        for (String key : architectureKeys(architecture)) {
            if (!cfg.has(key) || cfg.get(key).isNull()) {
                problems.add(CONFIG + ": key " + key + " is missing; " + architecture + " needs it");
            }
        }
        if (architecture.equals("matryoshka_batchtopk") && cfg.path("matryoshka_widths").isArray()) {
            JsonNode widths = cfg.get("matryoshka_widths");
            if (widths.isEmpty() || widths.get(widths.size() - 1).asLong() != cfg.path("d_sae").asLong()) {
                problems.add(CONFIG + ": matryoshka_widths " + widths + " must end with d_sae " + cfg.path("d_sae"));
            }
        }
        if (!cfg.path("metadata").path("sae_lens_version").asText("0").matches("^([6-9]|\\d\\d+)\\..*")) {
            problems.add(CONFIG + ": metadata.sae_lens_version must be 6.0.0 or newer for the v6 loader");
        }
        long dIn = cfg.path("d_in").asLong();
        long dSae = cfg.path("d_sae").asLong();
        try (Safetensors.Reader weights = Safetensors.read(dir.resolve(WEIGHTS))) {
            if (!weights.tensors().keySet().equals(new java.util.HashSet<>(expected))) {
                problems.add(WEIGHTS + ": holds " + weights.tensors().keySet() + "; expected exactly " + expected);
            }
            Map<String, long[]> shapes = Map.of("W_enc", new long[]{dIn, dSae}, "W_dec", new long[]{dSae, dIn},
                    "b_enc", new long[]{dSae}, "b_dec", new long[]{dIn}, "threshold", new long[]{dSae}, TOPK_THRESHOLD, new long[0]);
            shapes.forEach((key, shape) -> {
                Safetensors.Tensor tensor = weights.tensors().get(key);
                if (tensor != null && !Arrays.equals(tensor.shape(), shape)) {
                    problems.add(WEIGHTS + ": " + tensor + " should have shape " + Arrays.toString(shape));
                }
                if (tensor != null && tensor.dtype() != Safetensors.Dtype.F32) {
                    problems.add(WEIGHTS + ": " + tensor + " should be F32 as cfg dtype float32 says");
                }
            });
        } catch (IOException e) {
            problems.add(WEIGHTS + ": " + e.getMessage());
        }
        try (Safetensors.Reader sparsity = Safetensors.read(dir.resolve(SPARSITY))) {
            Safetensors.Tensor tensor = sparsity.tensors().get("sparsity");
            if (tensor == null || !Arrays.equals(tensor.shape(), new long[]{dSae})) {
                problems.add(SPARSITY + ": needs a tensor \"sparsity\" of shape [" + dSae + "]");
            }
        } catch (IOException e) {
            problems.add(SPARSITY + ": " + e.getMessage());
        }
        return problems;
    }
}
