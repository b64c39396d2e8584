package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.sae.StandardSae;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * constant_norm_rescale and layer_norm act per token, so unlike expected_average_only_in they
 * cannot be folded into the weights: SAELens keeps them in cfg.json, mid-training and final, and
 * applies them wherever the SAE runs. A tiny run with each writes checkpoints SAELens loads.
 */
class RuntimeNormalizationTrainingTest {
    @TempDir
    Path root;

    @ParameterizedTest
    @CsvSource({"constant_norm_rescale, jumprelu", "layer_norm, jumprelu", "layer_norm, 'topk, k: 4'", "constant_norm_rescale, standard"})
    void checkpointsKeepTheModeInCfgJson(String mode, String architecture) throws Exception {
        String yaml = """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: normalised}
                spec:
                  synthetic: {features: 64, dIn: 8, firingProbability: 0.3}
                  sae: {architecture: %s, dSae: 24, normalizeActivations: %s}
                  training: {tokens: 5120, batchSizeTokens: 256, seed: 3, evalEverySteps: 10}
                  checkpoints: {count: 1}
                """.formatted(architecture, mode);
        // Dense enough that no row is all zeros: constant_norm_rescale divides by each row's norm, as SAELens does.
        TrainingRun run = TrainingRuns.parse(yaml, "normalised").get(0);
        Summary summary;
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            summary = Training.run(RunIdentity.of(run), run.getSpec(), store, Training.Options.defaults(), new TrainingListener() {
            });
        }

        assertThat(summary.steps()).isEqualTo(20);
        for (Path checkpoint : List.of(root.resolve("normalised/2816"), root.resolve("normalised/final_5120"))) {
            assertThat(new ObjectMapper().readTree(checkpoint.resolve(SaeLensCheckpoint.CONFIG).toFile()).path("normalize_activations")
                    .asText()).as(checkpoint.toString()).isEqualTo(mode);
            assertThat(SaeLensCheckpoint.problems(checkpoint)).as(checkpoint.toString()).isEmpty();
        }
    }

    @Test
    void evaluationDeNormalisesTheReconstructionIntoTheRowsUnits() {
        // No latent fires, so the SAE's reconstruction is b_dec = (1, -1, 0, 2) in layer_norm units; in the row's
        // units that is b_dec·σ + μ: for (1, 2, 3, 6), μ = 3 and σ = √(14/3).
        SaeSpec spec = new SaeSpec();
        spec.architecture = SaeSpec.Architecture.STANDARD;
        spec.dSae = 3;
        spec.normalizeActivations = SaeSpec.ActivationNormalization.LAYER_NORM;
        try (NDManager m = Torch.engine().newBaseManager();
             TrainingSae sae = StandardSae.ARCHITECTURE.fromParameters(spec, 4, m, Map.of(
                     TrainingSae.W_ENC, m.zeros(new Shape(4, 3)), TrainingSae.W_DEC, m.zeros(new Shape(3, 4)),
                     TrainingSae.B_ENC, m.zeros(new Shape(3)), TrainingSae.B_DEC, m.create(new float[]{1, -1, 0, 2})))) {
            NDArray reconstruction = new Evaluation.Reconstruction(4).add(m.create(new float[][]{{1, 2, 3, 6}}), sae, 1.0);

            double sigma = Math.sqrt(14.0 / 3);
            float[] values = reconstruction.toFloatArray();
            assertThat(values[0]).isCloseTo((float) (sigma + 3), within(1e-5f));
            assertThat(values[1]).isCloseTo((float) (3 - sigma), within(1e-5f));
            assertThat(values[2]).isCloseTo(3f, within(1e-5f));
            assertThat(values[3]).isCloseTo((float) (2 * sigma + 3), within(1e-5f));
        }
    }
}
