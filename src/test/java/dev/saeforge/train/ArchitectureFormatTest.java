package dev.saeforge.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Each architecture's checkpoints are what SAELens writes and loads: a training checkpoint as
 * save_model writes it (the training architecture, its config keys, parameters and buffers, which
 * TrainingSAE.load_from_disk reads and a resume restores), and the final SAE as
 * save_inference_model writes it, which SAE.load_from_disk reads: batchtopk and
 * matryoshka_batchtopk as jumprelu with their running threshold, topk with its decoder norms
 * folded into the encoder. Headers are parsed by hand, not by our reader.
 */
class ArchitectureFormatTest {
    @TempDir
    Path root;

    /** A short synthetic run of {@code sae}, with the activation scale on so that the final fold is exercised. */
    private void train(String name, String sae) throws Exception {
        train(root, name, sae, Training.Options.defaults());
    }

    private static void train(Path root, String name, String sae, Training.Options options) throws Exception {
        TrainingRun run = TrainingRuns.parse("""
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: %s}
                spec:
                  synthetic: {features: 16, dIn: 8}
                  sae: {dSae: 24, normalizeActivations: expected_average_only_in, nBatchesForNormEstimate: 4, %s}
                  training: {tokens: 12800, batchSizeTokens: 256, seed: 3}
                  checkpoints: {count: 1}
                """.formatted(name, sae), name).get(0);
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            Training.run(RunIdentity.of(run), run.getSpec(), store, options, new TrainingListener() {
            });
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "topk                 | architecture: topk, k: 3                                               | topk     | k",
            "batchtopk            | architecture: batchtopk, k: 2.5                                        | jumprelu | topk_threshold_lr",
            "matryoshka_batchtopk | architecture: matryoshka_batchtopk, k: 2.5, matryoshkaWidths: [6, 12] | jumprelu | matryoshka_widths",
            "standard             | architecture: standard, l1Coefficient: 0.1                             | standard | l1_coefficient"})
    void trainingCheckpointsAreSaveModelsAndTheFinalSaeIsTheInferenceOne(String architecture, String sae, String inference,
                                                                         String trainingKey) throws Exception {
        String name = architecture.replace('_', '-');
        train(name, sae);
        Path periodic = root.resolve(name + "/6656");
        Path last = root.resolve(name + "/final_12800");
        ObjectMapper json = new ObjectMapper();

        JsonNode trainingCfg = json.readTree(periodic.resolve("cfg.json").toFile());
        assertThat(trainingCfg.path("architecture").asText()).isEqualTo(architecture);
        assertThat(trainingCfg.has(trainingKey)).as(trainingKey).isTrue();
        assertThat(keys(header(periodic.resolve("sae_weights.safetensors"))))
                .containsExactlyInAnyOrderElementsOf(SaeLensCheckpoint.weightNames(architecture));
        assertThat(SaeLensCheckpoint.problems(periodic)).isEmpty();

        JsonNode cfg = json.readTree(last.resolve("cfg.json").toFile());
        assertThat(cfg.path("architecture").asText()).isEqualTo(inference);
        assertThat(SaeLensCheckpoint.INFERENCE_ARCHITECTURES).contains(inference);
        assertThat(cfg.path("normalize_activations").asText()).isEqualTo("none");
        assertThat(cfg.path("metadata").path("training_architecture").asText()).isEqualTo(architecture);
        assertThat(cfg.path("metadata").path("num_dead_features").isInt()).as("SAELens #717").isTrue();
        JsonNode header = header(last.resolve("sae_weights.safetensors"));
        assertThat(keys(header)).containsExactlyInAnyOrderElementsOf(SaeLensCheckpoint.weightNames(inference));
        assertThat(SaeLensCheckpoint.problems(last)).isEmpty();

        float[] wDec = floats(last.resolve("sae_weights.safetensors"), header.get("W_dec"));
        if (!architecture.equals("standard")) {
            // rescale_acts_by_decoder_norm (the default) folds the decoder norms in: unit rows.
            for (int i = 0; i < 24; i++) {
                double norm = 0;
                for (int d = 0; d < 8; d++) {
                    norm += wDec[i * 8 + d] * wDec[i * 8 + d];
                }
                assertThat(Math.sqrt(norm)).as("|W_dec[" + i + "]|").isCloseTo(1.0, within(1e-5));
            }
        }
        if (inference.equals("jumprelu")) {
            float[] threshold = floats(last.resolve("sae_weights.safetensors"), header.get("threshold"));
            assertThat(threshold[0]).as("the running threshold, reached from 0").isPositive();
            for (float t : threshold) {
                assertThat(t).isEqualTo(threshold[0]);
            }
            assertThat(cfg.has("k")).as("a JumpReLU config has no k").isFalse();
        }
        if (architecture.equals("topk")) {
            assertThat(cfg.path("k").asInt()).isEqualTo(3);
            assertThat(cfg.path("rescale_acts_by_decoder_norm").asBoolean()).isTrue();
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "batchtopk | architecture: batchtopk, k: 2.5",
            "standard  | architecture: standard"})
    void aRunResumesFromItsTrainingCheckpointToTheSameFinalWeights(String architecture, String sae) throws Exception {
        train(root.resolve("once"), architecture, sae, Training.Options.defaults());
        Path twice = root.resolve("twice");
        train(twice, architecture, sae, new Training.Options(20L, Training.Options.defaults().stopRequest()));
        assertThat(twice.resolve(architecture + "/final_12800")).as("stopped after 20 steps").doesNotExist();
        train(twice, architecture, sae, Training.Options.defaults());
        Path once = root.resolve("once/" + architecture + "/final_12800/sae_weights.safetensors");
        Path resumed = twice.resolve(architecture + "/final_12800/sae_weights.safetensors");
        JsonNode header = header(once);
        for (String key : keys(header)) {
            float[] a = floats(once, header.get(key));
            float[] b = floats(resumed, header(resumed).get(key));
            for (int i = 0; i < a.length; i++) {
                assertThat((double) b[i]).as(key + "[" + i + "]").isCloseTo(a[i], within(1e-5 + 1e-5 * Math.abs(a[i])));
            }
        }
    }

    static List<String> keys(JsonNode header) {
        List<String> keys = new ArrayList<>();
        header.fieldNames().forEachRemaining(keys::add);
        keys.remove("__metadata__");
        return keys;
    }

    static JsonNode header(Path file) throws Exception {
        return SaeLensFormatTest.header(file);
    }

    static float[] floats(Path file, JsonNode tensor) throws Exception {
        return SaeLensFormatTest.floats(file, tensor);
    }
}
