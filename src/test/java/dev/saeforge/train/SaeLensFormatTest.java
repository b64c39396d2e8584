package dev.saeforge.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A written checkpoint holds exactly what SAELens' SAE.load_from_disk needs (the format notes,
 * §4): cfg.json with the keys the loader indexes and v6 metadata, sae_weights.safetensors with
 * exactly W_enc, W_dec, b_enc, b_dec, threshold in F32 with SAELens' shapes, and
 * sparsity.safetensors. The safetensors headers are parsed here by hand, not by our reader.
 */
class SaeLensFormatTest {
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: format}
            spec:
              synthetic: {features: 16, dIn: 8}
              sae: {dSae: 24, normalizeActivations: expected_average_only_in, nBatchesForNormEstimate: 4}
              training: {tokens: 12800, batchSizeTokens: 256, seed: 3}
              checkpoints: {count: 1}
            """;

    @TempDir
    static Path root;
    static Path periodic;
    static Path last;

    @BeforeAll
    static void train() throws Exception {
        TrainingRun run = TrainingRuns.parse(RUN, "format").get(0);
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            Training.run(RunIdentity.of(run), run.getSpec(), store, Training.Options.defaults(), new TrainingListener() {
            });
        }
        periodic = root.resolve("format/6656");
        last = root.resolve("format/final_12800");
    }

    @Test
    void weightsAreExactlyTheFiveJumpReluTensorsInSaeLensShapes() throws Exception {
        for (Path dir : List.of(periodic, last)) {
            JsonNode header = header(dir.resolve("sae_weights.safetensors"));
            List<String> keys = new java.util.ArrayList<>();
            header.fieldNames().forEachRemaining(keys::add);
            assertThat(keys).as(dir + ": no __metadata__, no log_threshold").containsExactlyInAnyOrder("W_enc", "W_dec", "b_enc", "b_dec", "threshold");
            assertShape(header, "W_enc", 8, 24);
            assertShape(header, "W_dec", 24, 8);
            assertShape(header, "b_enc", 24);
            assertShape(header, "b_dec", 8);
            assertShape(header, "threshold", 24);
        }
    }

    @Test
    void cfgHasWhatTheLoaderReads() throws Exception {
        JsonNode cfg = new ObjectMapper().readTree(last.resolve("cfg.json").toFile());
        assertThat(cfg.path("architecture").asText()).isEqualTo("jumprelu");
        assertThat(cfg.path("d_in").asInt()).isEqualTo(8);
        assertThat(cfg.path("d_sae").asInt()).isEqualTo(24);
        assertThat(cfg.path("dtype").asText()).isEqualTo("float32");
        assertThat(cfg.path("apply_b_dec_to_input").asBoolean()).isTrue();
        assertThat(cfg.path("reshape_activations").asText()).isEqualTo("none");
        String version = cfg.path("metadata").path("sae_lens_version").asText();
        assertThat(Integer.parseInt(version.substring(0, version.indexOf('.')))).as("v6 loader path").isGreaterThanOrEqualTo(6);
        for (String key : List.of("model_name", "hook_name", "hook_head_index", "context_size", "prepend_bos", "dataset_path",
                "seqpos_slice", "model_from_pretrained_kwargs", "exclude_special_tokens")) {
            assertThat(cfg.path("metadata").has(key)).as("metadata." + key).isTrue();
        }
    }

    @Test
    void theScaleIsFoldedIntoTheFinalWeightsButNotIntoMidTrainingOnes() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertThat(json.readTree(periodic.resolve("cfg.json").toFile()).path("normalize_activations").asText())
                .isEqualTo("expected_average_only_in");
        assertThat(json.readTree(periodic.resolve("activation_scaler.json").toFile()).path("scaling_factor").isNumber()).isTrue();
        assertThat(json.readTree(last.resolve("cfg.json").toFile()).path("normalize_activations").asText()).isEqualTo("none");
        assertThat(json.readTree(last.resolve("activation_scaler.json").toFile()).path("scaling_factor").isNull()).isTrue();
    }

    @Test
    void sparsityIsLog10FiringFractionsPerLatent() throws Exception {
        JsonNode header = header(last.resolve("sparsity.safetensors"));
        assertShape(header, "sparsity", 24);
        float[] sparsity = floats(last.resolve("sparsity.safetensors"), header.get("sparsity"));
        for (float s : sparsity) {
            assertThat(s).isBetween(-10f, 0f);
        }
        // metadata.l0, as SAELens' final metadata has it: the firing fractions of that window summed,
        // latents firing per row; only once training is done.
        double firingPerRow = 0;
        for (float s : sparsity) {
            firingPerRow += Math.pow(10, s) - 1e-10;
        }
        ObjectMapper json = new ObjectMapper();
        assertThat(json.readTree(last.resolve("cfg.json").toFile()).path("metadata").path("l0").asDouble())
                .isGreaterThan(0).isCloseTo(firingPerRow, org.assertj.core.data.Offset.offset(1e-3 * firingPerRow));
        assertThat(json.readTree(periodic.resolve("cfg.json").toFile()).path("metadata").has("l0")).isFalse();
    }

    @Test
    void ourOwnCheckOfTheFormatAgrees() throws Exception {
        assertThat(SaeLensCheckpoint.problems(periodic)).isEmpty();
        assertThat(SaeLensCheckpoint.problems(last)).isEmpty();
        Files.delete(last.resolve("sparsity.safetensors"));
        assertThat(SaeLensCheckpoint.problems(last)).singleElement().asString().startsWith("sparsity.safetensors: ");
    }

    static void assertShape(JsonNode header, String key, long... shape) {
        JsonNode tensor = header.get(key);
        assertThat(tensor.path("dtype").asText()).as(key + " dtype").isEqualTo("F32");
        List<Long> actual = new java.util.ArrayList<>();
        tensor.path("shape").forEach(d -> actual.add(d.asLong()));
        assertThat(actual).as(key + " shape").containsExactly(java.util.Arrays.stream(shape).boxed().toArray(Long[]::new));
    }

    static JsonNode header(Path file) throws Exception {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int length = (int) bytes.getLong(0);
        return new ObjectMapper().readTree(new String(bytes.array(), 8, length, StandardCharsets.UTF_8));
    }

    static float[] floats(Path file, JsonNode tensor) throws Exception {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int start = 8 + (int) bytes.getLong(0) + tensor.path("data_offsets").get(0).asInt();
        int end = 8 + (int) bytes.getLong(0) + tensor.path("data_offsets").get(1).asInt();
        float[] out = new float[(end - start) / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = bytes.getFloat(start + 4 * i);
        }
        return out;
    }
}
