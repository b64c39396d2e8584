package dev.saeforge.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.sae.TrainingSae;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.HubServer;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.SafetensorsArrays;
import dev.saeforge.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * spec.sae.fromPretrained starts an SAE from an existing SAELens checkpoint directory, as SAELens'
 * from_pretrained_path does: its weights exactly, from a path or hf://ORG/NAME/SUBFOLDER
 * ({@link FromPretrainedS3Test}: s3://BUCKET/PREFIX); a checkpoint that does not fit the spec is refused, naming both values.
 */
class FromPretrainedTest {
    static final String FIRST = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: first}
            spec:
              synthetic: {features: 16, dIn: 8}
              sae: {dSae: 24}
              training: {tokens: 2560, batchSizeTokens: 256, seed: 3}
            """;

    @TempDir
    static Path root;
    @TempDir
    Path cache;
    static Path first;

    @BeforeAll
    static void trainTheFirstRun() throws Exception {
        train(FIRST, root.resolve("runs"));
        first = root.resolve("runs/first/final_2560");
    }

    static Summary train(String yaml, Path store) throws Exception {
        TrainingRun run = TrainingRuns.parse(yaml, "test").get(0);
        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            return Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, Training.Options.defaults(), new TrainingListener() {
            });
        }
    }

    static String second(String sae) {
        return FIRST.replace("name: first", "name: second").replace("sae: {dSae: 24}", "sae: {" + sae + "}");
    }

    static SaeDefinition definition(String yaml) throws Exception {
        TrainingRun run = TrainingRuns.parse(yaml, "test").get(0);
        return SaeDefinition.all(run.getSpec(), run.getMetadata().getName()).get(0);
    }

    @Test
    void theSaeStartsWithTheCheckpointsWeightsExactly() throws Exception {
        SaeDefinition definition = definition(second("dSae: 24, fromPretrained: " + first));
        ModelSources sources = new ModelSources(cache, null, Map.of());
        assertSameWeights(definition, sources, first);
    }

    @Test
    void aRunFromPretrainedTrainsOnFromThoseWeights() throws Exception {
        Summary summary = train(second("dSae: 24, fromPretrained: file://" + first), root.resolve("second-runs"));

        assertThat(summary.steps()).isEqualTo(10);
        Path last = root.resolve("second-runs/second/final_2560");
        assertThat(SaeLensCheckpoint.problems(last)).isEmpty();
        assertThat(Files.readAllBytes(last.resolve(SaeLensCheckpoint.WEIGHTS)))
                .as("trained further, so no longer the starting weights")
                .isNotEqualTo(Files.readAllBytes(first.resolve(SaeLensCheckpoint.WEIGHTS)));
    }

    @Test
    void aCheckpointThatDoesNotFitTheSpecIsRefusedNamingBothValues() throws Exception {
        assertThatThrownBy(() -> train(second("dSae: 32, fromPretrained: " + first), root.resolve("refused-0")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("spec.sae.fromPretrained: the checkpoint at " + first + " does not match the spec: cfg.json d_sae is 24"
                        + " but spec.sae.dSae is 32");
        assertThatThrownBy(() -> train(second("dSae: 24, architecture: topk, k: 4, fromPretrained: " + first), root.resolve("refused-1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cfg.json architecture is jumprelu but spec.sae.architecture is topk");
        assertThatThrownBy(() -> train(second("dSae: 24, fromPretrained: " + root.resolve("nowhere")), root.resolve("refused-2")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("spec.sae.fromPretrained checkpoint directory " + root.resolve("nowhere") + " has no cfg.json");
    }

    @Test
    void hubCheckpointsComeFromTheirSubfolder() throws Exception {
        Path repo = root.resolve("hub-repo");
        copy(first, repo.resolve("layer_1/width_24"));
        Files.writeString(repo.resolve("README.md"), "an SAE release");
        try (HubServer hub = new HubServer("sae-org/tiny-saes", repo, null)) {
            ModelSources sources = new ModelSources(cache, new HfHub(hub.endpoint(), null), Map.of());
            SaeDefinition definition = definition(second("dSae: 24, fromPretrained: hf://sae-org/tiny-saes/layer_1/width_24"));

            assertSameWeights(definition, sources, first);
            assertThat(cache.resolve("saes/hf/sae-org/tiny-saes/" + HubServer.COMMIT + "/layer_1/width_24/" + SaeLensCheckpoint.WEIGHTS))
                    .exists();
        }
    }

    static void assertSameWeights(SaeDefinition definition, ModelSources sources, Path checkpoint) throws Exception {
        try (NDManager m = Torch.engine().newBaseManager();
             TrainingSae sae = FromPretrained.load(definition, 8, sources, m);
             Safetensors.Reader saved = Safetensors.read(checkpoint.resolve(SaeLensCheckpoint.WEIGHTS))) {
            assertThat(sae.parameters().keySet()).containsExactlyInAnyOrderElementsOf(saved.tensors().keySet());
            for (Map.Entry<String, NDArray> parameter : sae.parameters().entrySet()) {
                assertThat(parameter.getValue().toFloatArray()).as(parameter.getKey())
                        .containsExactly(SafetensorsArrays.readFloat32(saved, parameter.getKey(), m).toFloatArray());
            }
        }
    }

    static void copy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        for (String name : List.of(SaeLensCheckpoint.CONFIG, SaeLensCheckpoint.WEIGHTS, SaeLensCheckpoint.SPARSITY)) {
            Files.copy(from.resolve(name), to.resolve(name));
        }
    }
}
