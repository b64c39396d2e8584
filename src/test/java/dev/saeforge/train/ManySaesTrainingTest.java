package dev.saeforge.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.DatasetFixtures;
import dev.saeforge.data.ThreadSettings;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.CheckpointManifest;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A run of three SAEs on two hooks of one language model, fed by one forward pass per batch,
 * trains each of them exactly as a run holding only that SAE would (same name, seed and data);
 * stopped as SIGTERM stops it and resumed, it ends where it would have; each checkpoint holds
 * every SAE as a SAELens directory under one manifest. Steps run one after another, with one
 * libtorch thread each for the forward and the SAE steps.
 */
class ManySaesTrainingTest {
    static final ThreadSettings THREADS = new ThreadSettings(1, 1, 1);
    static final List<String> SAES = List.of(
            "{name: mlp1-sparse, hook: blocks.1.hook_mlp_out, sae: {dSae: 96, l0Coefficient: 0.3}}",
            "{name: mlp1-dense, hook: blocks.1.hook_mlp_out, sae: {dSae: 96, l0Coefficient: 0.03}}",
            "{name: resid0, hook: blocks.0.hook_resid_post, sae: {dSae: 96, l0Coefficient: 0.1}, training: {lr: 0.001}}");
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: NAME}
            spec:
              model: {name: tiny, uri: MODEL, dtype: float32}
              dataset: {uri: CORPUS, contextSize: 12, storeBatchSizePrompts: 2, nBatchesInBuffer: 4}
              saes: [SAES]
              training: {tokens: 1440, batchSizeTokens: 24, logEverySteps: 5, evalEverySteps: 25, evalBatches: 1, seed: 7}
              checkpoints: {count: 2}
            """;

    @TempDir
    static Path dir;
    static Summary together;
    static final List<String> evaluated = new ArrayList<>();

    @BeforeAll
    static void trainTogether() throws Exception {
        TinyQwen3.write(dir.resolve("model"), TinyQwen3.Options.defaults());
        DatasetFixtures.jsonl(dir.resolve("corpus.jsonl"), DatasetFixtures.documents("Sparse autoencoders read the residual stream", 200));
        together = train(run("sweep", SAES), "together", Training.Options.defaults(), new TrainingListener() {
            @Override
            public void evaluated(long step, long tokens, String sae, Evaluation evaluation) {
                evaluated.add(step + " " + sae);
            }
        });
    }

    static TrainingRun run(String name, List<String> saes) throws Exception {
        return TrainingRuns.parse(RUN.replace("NAME", name).replace("MODEL", dir.resolve("model").toString())
                .replace("CORPUS", dir.resolve("corpus.jsonl").toString()).replace("SAES", String.join(", ", saes)), name).get(0);
    }

    static Summary train(TrainingRun run, String store, Training.Options options, TrainingListener listener) throws Exception {
        try (CheckpointStore checkpoints = CheckpointStore.open(dir.resolve(store).toString())) {
            Training.Options withThreads = new Training.Options(options.stopAfterSteps(), options.stopRequest(), THREADS);
            return Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, withThreads, listener);
        }
    }

    static float[] weights(Path checkpointDir, String tensor) throws Exception {
        try (Safetensors.Reader reader = Safetensors.read(checkpointDir.resolve(SaeLensCheckpoint.WEIGHTS))) {
            return reader.floats(tensor);
        }
    }

    static void assertSameWeights(Path actual, Path expected) throws Exception {
        for (String tensor : SaeLensCheckpoint.weightNames("jumprelu")) {
            float[] a = weights(actual, tensor);
            float[] e = weights(expected, tensor);
            assertThat(a).as(actual + " " + tensor).hasSameSizeAs(e);
            for (int i = 0; i < a.length; i++) {
                assertThat((double) a[i]).as("%s %s[%d]", actual, tensor, i).isCloseTo(e[i], within(1e-6));
            }
        }
    }

    @Test
    void eachSaeEndsWithTheWeightsOfARunHoldingOnlyIt() throws Exception {
        Path final3 = dir.resolve("together/sweep/final_1440");
        for (int i = 0; i < SAES.size(); i++) {
            String name = List.of("mlp1-sparse", "mlp1-dense", "resid0").get(i);
            Summary alone = train(run("sweep", List.of(SAES.get(i))), "alone-" + name, Training.Options.defaults(), new TrainingListener() {
            });
            assertThat(alone.saes()).singleElement().extracting(Summary.SaeSummary::name).isEqualTo(name);
            Path single = dir.resolve("alone-" + name + "/sweep/final_1440");
            assertThat(single.resolve(SaeLensCheckpoint.WEIGHTS)).as("one SAE keeps the single-SAE layout").exists();
            assertSameWeights(final3.resolve(name), single);
        }
    }

    @Test
    void stepsOfDifferentSaesTakenAtOnceOnWorkerThreadsAreTheSameSteps() throws Exception {
        try (CheckpointStore checkpoints = CheckpointStore.open(dir.resolve("at-once").toString())) {
            TrainingRun sweep = run("sweep", SAES);
            Training.run(RunIdentity.of(sweep).withAttempt("2"), sweep.getSpec(), checkpoints,
                    new Training.Options(null, new StopRequest(), new ThreadSettings(1, 1, 3, 3)),
                    new TrainingListener() {
                    });
            assertThat(checkpoints.manifest("sweep", "final_1440").orElseThrow().writer().attempt()).as("the attempt that wrote it")
                    .isEqualTo(2);
        }
        for (String name : List.of("mlp1-sparse", "mlp1-dense", "resid0")) {
            assertSameWeights(dir.resolve("at-once/sweep/final_1440").resolve(name), dir.resolve("together/sweep/final_1440").resolve(name));
        }
    }

    @Test
    void aRunStoppedAsSigtermStopsItResumesEverySaeWhereItWouldHaveBeen() throws Exception {
        StopRequest stop = new StopRequest();
        Summary stopped = train(run("sweep", SAES), "stopped", new Training.Options(null, stop), new TrainingListener() {
            @Override
            public void progress(Progress progress) {
                if (progress.step() >= 35) {
                    stop.request("SIGTERM");
                }
            }
        });
        assertThat(stopped.outcome()).isEqualTo(Summary.Outcome.STOPPED);
        assertThat(stopped.steps()).isEqualTo(35);
        Summary resumed = train(run("sweep", SAES), "stopped", Training.Options.defaults(), new TrainingListener() {
        });
        assertThat(resumed.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        for (String name : List.of("mlp1-sparse", "mlp1-dense", "resid0")) {
            assertSameWeights(dir.resolve("stopped/sweep/final_1440").resolve(name), dir.resolve("together/sweep/final_1440").resolve(name));
        }
    }

    @Test
    void theCheckpointsMetricHistoryHasEverySaesLoggedStepsAndEvaluations() throws Exception {
        List<MetricsHistory.Entry> history = MetricsHistory.read(dir.resolve("together/sweep/final_1440").resolve(MetricsHistory.FILE));

        for (String sae : List.of("mlp1-sparse", "mlp1-dense", "resid0")) {
            assertThat(history).filteredOn(e -> e.sae().equals(sae) && e.kind().equals(MetricsHistory.TRAIN))
                    .extracting(MetricsHistory.Entry::step).containsExactly(5L, 10L, 15L, 20L, 25L, 30L, 35L, 40L, 45L, 50L, 55L, 60L);
            assertThat(history).filteredOn(e -> e.sae().equals(sae) && e.kind().equals(MetricsHistory.EVAL))
                    .extracting(MetricsHistory.Entry::step).containsExactly(25L, 50L, 60L);
        }
        assertThat(history).allSatisfy(e -> assertThat(e.tokens()).isEqualTo(e.step() * 24));
    }

    @Test
    void oneCheckpointPerTokenCountHoldsEverySaeAsASaeLensDirectoryUnderOneManifest() throws Exception {
        try (CheckpointStore store = CheckpointStore.open(dir.resolve("together").toString())) {
            assertThat(store.list("sweep")).extracting(CheckpointRef::name).containsExactly("504", "984", "final_1440");
            for (String checkpoint : List.of("504", "final_1440")) {
                CheckpointManifest manifest = store.manifest("sweep", checkpoint).orElseThrow();
                assertThat(manifest.files()).extracting(CheckpointManifest.FileEntry::path)
                        .contains("trainingrun.yaml", "activation_stream.json", "mlp1-sparse/cfg.json", "mlp1-dense/sae_weights.safetensors",
                                "resid0/trainer_state.safetensors")
                        .noneMatch(path -> path.endsWith("/" + CheckpointManifest.FILE_NAME));
                assertThat(((List<?>) manifest.info().get("saes")).stream().map(sae -> String.valueOf(((Map<?, ?>) sae).get("name"))).toList())
                        .containsExactly("mlp1-sparse", "mlp1-dense", "resid0");
                for (String sae : List.of("mlp1-sparse", "mlp1-dense", "resid0")) {
                    Path saeDir = dir.resolve("together/sweep").resolve(checkpoint).resolve(sae);
                    assertThat(SaeLensCheckpoint.problems(saeDir)).as(saeDir.toString()).isEmpty();
                    JsonNode weights = SaeLensFormatTest.header(saeDir.resolve(SaeLensCheckpoint.WEIGHTS));
                    SaeLensFormatTest.assertShape(weights, "W_enc", 64, 96);
                    JsonNode cfg = new ObjectMapper().readTree(saeDir.resolve(SaeLensCheckpoint.CONFIG).toFile());
                    assertThat(cfg.path("metadata").path("hook_name").asText()).isEqualTo(sae.startsWith("mlp1") ? "blocks.1.hook_mlp_out"
                            : "blocks.0.hook_resid_post");
                    assertThat(cfg.path("l0_coefficient").asDouble()).isEqualTo(switch (sae) {
                        case "mlp1-sparse" -> 0.3;
                        case "mlp1-dense" -> 0.03;
                        default -> 0.1;
                    });
                }
            }
            assertThat(Files.exists(dir.resolve("together/sweep/504/cfg.json"))).as("no SAE at the root of a multi-SAE checkpoint").isFalse();
        }
    }

    @Test
    void aFinishedRunIsNotTrainedAgainAndSummarisesEverySaeFromItsFinalCheckpoint() throws Exception {
        Summary again = train(run("sweep", SAES), "together", Training.Options.defaults(), new TrainingListener() {
        });
        assertThat(again.steps()).isEqualTo(together.steps());
        assertThat(again.saes()).extracting(Summary.SaeSummary::name, Summary.SaeSummary::hook, Summary.SaeSummary::checkpoint,
                        Summary.SaeSummary::deadFeatures)
                .containsExactlyElementsOf(together.saes().stream().map(sae -> org.assertj.core.groups.Tuple.tuple(sae.name(), sae.hook(),
                        sae.checkpoint(), sae.deadFeatures())).toList());
        for (int i = 0; i < 3; i++) {
            assertThat(again.saes().get(i).evaluation().explainedVariance()).isEqualTo(together.saes().get(i).evaluation().explainedVariance());
        }
    }

    @Test
    void everySaeIsEvaluatedAndSummarised() {
        assertThat(evaluated).containsExactly("25 mlp1-sparse", "25 mlp1-dense", "25 resid0", "50 mlp1-sparse", "50 mlp1-dense",
                "50 resid0", "60 mlp1-sparse", "60 mlp1-dense", "60 resid0");
        assertThat(together.saes()).extracting(Summary.SaeSummary::name).containsExactly("mlp1-sparse", "mlp1-dense", "resid0");
        for (Summary.SaeSummary sae : together.saes()) {
            assertThat(sae.evaluation().downstream()).as(sae.name() + " spliced in at its hook").isNotNull();
            assertThat(sae.checkpoint()).endsWith("/sweep/final_1440/" + sae.name());
        }
        assertThat(together.saes().get(0).evaluation().l0()).as("the sparser SAE fires less")
                .isLessThan(together.saes().get(1).evaluation().l0());
        Map<String, Object> json = together.toJson();
        assertThat(json).doesNotContainKey("explained_variance");
        List<?> saes = (List<?>) json.get("saes");
        assertThat(saes).hasSize(3);
        for (Object sae : saes) {
            assertThat(((Map<?, ?>) sae).keySet().stream().map(String::valueOf).toList()).contains("name", "hook", "explained_variance", "l0", "ce_loss_score", "dead_features",
                    "checkpoint");
        }
    }
}
