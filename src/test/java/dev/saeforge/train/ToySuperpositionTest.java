package dev.saeforge.train;

import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The seed post's toy model of superposition: 64 ground-truth features in 32 dimensions, each
 * active with probability 0.05. The SAE of examples/toy-superposition.yaml must find them.
 */
class ToySuperpositionTest {
    @TempDir
    Path runs;

    @Test
    void theSaeRecoversTheGroundTruthFeaturesAndTheSameSeedGivesTheSameSae() throws Exception {
        TrainingRun run = TrainingRuns.read(Path.of("examples/toy-superposition.yaml")).get(0);

        Summary first = train(run, runs.resolve("first"));
        Summary second = train(run, runs.resolve("second"));

        assertThat(first.groundTruthFeatures()).isEqualTo(64);
        assertThat(first.groundTruthRecovered()).as("features with a decoder row of cosine > 0.9").isGreaterThanOrEqualTo(60);
        assertThat(first.explainedVariance()).isGreaterThanOrEqualTo(0.9);
        assertThat(first.l0()).isBetween(1.5, 5.0);

        assertThat(second.groundTruthRecovered()).isEqualTo(first.groundTruthRecovered());
        assertThat(second.explainedVariance()).isEqualTo(first.explainedVariance());
        Path a = runs.resolve("first/toy-superposition/final_3072000/" + SaeLensCheckpoint.WEIGHTS);
        Path b = runs.resolve("second/toy-superposition/final_3072000/" + SaeLensCheckpoint.WEIGHTS);
        try (Safetensors.Reader x = Safetensors.read(a); Safetensors.Reader y = Safetensors.read(b)) {
            for (String key : SaeLensCheckpoint.weightNames("jumprelu")) {
                assertThat(y.floats(key)).as(key + ", same seed").containsExactly(x.floats(key));
            }
        }
    }

    private static Summary train(TrainingRun run, Path root) throws Exception {
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            return Training.run(RunIdentity.of(run), run.getSpec(), store, Training.Options.defaults(), new TrainingListener() {
            });
        }
    }
}
