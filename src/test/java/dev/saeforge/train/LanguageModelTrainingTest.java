package dev.saeforge.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.TinyCorpus;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeCheckpointDirs;
import dev.saeforge.store.SaeLensCheckpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Training a JumpReLU SAE on a tiny Qwen3's activations: evaluations at the interval and at the
 * end land in the listener, the checkpoints' cfg.json and the summary; a run stopped midway and
 * resumed (its mixing buffer's unserved rows restored from the checkpoint) ends with exactly the
 * weights of a run that never stopped.
 */
class LanguageModelTrainingTest {
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: NAME}
            spec:
              model: {name: saeforge/tiny-qwen3, uri: MODEL}
              hook: blocks.1.hook_mlp_out
              dataset: {uri: CORPUS, contextSize: 16, storeBatchSizePrompts: 4, nBatchesInBuffer: 4}
              sae: {expansionFactor: 2, normalizeActivations: expected_average_only_in, nBatchesForNormEstimate: 3}
              training: {tokens: 3840, batchSizeTokens: 64, lr: 3.0e-3, seed: 9, evalEverySteps: 20, evalBatches: 2, logEverySteps: 5}
              checkpoints: {count: 2}
            """;

    @TempDir
    static Path dir;
    static Summary straight;
    static List<Long> evaluatedAt = new ArrayList<>();
    static List<Metrics> logged = new ArrayList<>();
    static List<Evaluation> evaluations = new ArrayList<>();

    @BeforeAll
    static void trainStraight() throws Exception {
        TinyQwen3.write(dir.resolve("model"), TinyQwen3.Options.defaults());
        Files.copy(TinyCorpus.materialize(dir.resolve("cache")), dir.resolve("corpus.jsonl"));
        try (CheckpointStore store = CheckpointStore.open(dir.resolve("straight").toString())) {
            TrainingRun run = run("lm");
            straight = Training.run(RunIdentity.of(run), run.getSpec(), store, Training.Options.defaults(), new TrainingListener() {
                @Override
                public void evaluated(long step, long tokens, String sae, Evaluation evaluation) {
                    evaluatedAt.add(step);
                    evaluations.add(evaluation);
                }

                @Override
                public void progress(Progress progress) {
                    logged.addAll(progress.saes());
                }
            });
        }
    }

    static TrainingRun run(String name) throws Exception {
        return run(name, dir.resolve("corpus.jsonl").toString());
    }

    static TrainingRun run(String name, String corpus) throws Exception {
        return TrainingRuns.parse(RUN.replace("NAME", name).replace("MODEL", dir.resolve("model").toString())
                .replace("CORPUS", corpus), name).get(0);
    }

    @Test
    void evaluationsRunAtTheIntervalAndAtTheEndAndReachTheSummary() {
        assertThat(evaluatedAt).containsExactly(20L, 40L, 60L);
        assertThat(straight.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        assertThat(straight.toJson()).containsKeys("explained_variance", "l0", "mse", "ce_loss_score", "ce_loss_with_sae",
                "ce_loss_without_sae", "ce_loss_with_ablation", "kl_div_score", "kl_div_with_sae", "kl_div_with_ablation", "dead_features");
        Evaluation.Downstream d = straight.evaluation().downstream();
        assertThat(d.ceLossWithAblation()).isGreaterThan(d.ceLossWithSae());
        assertThat(d.klDivWithAblation()).isGreaterThan(d.klDivWithSae());
    }

    @Test
    void checkpointsRecordTheBosChoiceAndTheNewestEvaluation() throws IOException {
        JsonNode periodic = cfg(dir.resolve("straight/lm/2624"));
        JsonNode last = cfg(dir.resolve("straight/lm/final_3840"));
        for (JsonNode metadata : List.of(periodic.path("metadata"), last.path("metadata"))) {
            assertThat(metadata.path("prepend_bos").asBoolean()).isTrue();
            assertThat(metadata.path("sequence_separator_token").asText()).isEqualTo("bos");
            assertThat(metadata.path("bos_token").asText()).isEqualTo("<|im_end|>");
            assertThat(metadata.path("bos_token_id").asLong()).isEqualTo(299);
            assertThat(metadata.path("sequence_separator_token_id").asLong()).isEqualTo(299);
            assertThat(metadata.has("ce_loss_score")).isTrue();
            assertThat(metadata.has("kl_div_with_sae")).isTrue();
            // Which data and run: a local corpus has no revision (a hub dataset's is its commit); a file run has no uid.
            assertThat(metadata.has("dataset_revision")).isTrue();
            assertThat(metadata.path("dataset_revision").isNull()).isTrue();
            assertThat(metadata.path("saeforge_run").asText()).isEqualTo("lm");
            assertThat(metadata.has("saeforge_run_uid")).isTrue();
            assertThat(metadata.path("exclude_special_tokens").asBoolean(true)).isFalse();
            assertThat(metadata.path("seqpos_slice").toString()).isEqualTo("[null]");
        }
        assertThat(periodic.path("metadata").path("evaluation_step").asLong()).isEqualTo(40);
        assertThat(periodic.path("normalize_activations").asText()).isEqualTo("expected_average_only_in");
        assertThat(last.path("normalize_activations").asText()).isEqualTo("none");
    }

    @Test
    void aRunStoppedMidwayAndResumedEndsWithTheWeightsOfTheStraightRun() throws Exception {
        TrainingRun run = run("lm");
        Path store = dir.resolve("interrupted");
        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            Summary first = Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, new Training.Options(27L, new StopRequest()),
                    new TrainingListener() {
                    });
            assertThat(first.outcome()).isEqualTo(Summary.Outcome.STOPPED);
            assertThat(first.steps()).isEqualTo(27);
        }
        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            Summary second = Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, Training.Options.defaults(),
                    new TrainingListener() {
                    });
            assertThat(second.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
            assertThat(second.evaluation().explainedVariance()).isEqualTo(straight.evaluation().explainedVariance());
        }
        // The batches are restored bit for bit (LanguageModelActivationsTest); the trainer's own resume is exact to rounding.
        SaeCheckpointDirs.assertSameWeights(dir.resolve("straight/lm/final_3840"), store.resolve("lm/final_3840"));
    }

    @Test
    void everyCheckpointKeepsEveryLoggedStepAndEvaluationSinceTheStart() throws Exception {
        List<MetricsHistory.Entry> periodic = MetricsHistory.read(dir.resolve("straight/lm/2624").resolve(MetricsHistory.FILE));
        List<MetricsHistory.Entry> last = MetricsHistory.read(dir.resolve("straight/lm/final_3840").resolve(MetricsHistory.FILE));

        // 64 tokens a step, logged every 5 steps and at the last (60), evaluated every 20 and at the end.
        assertThat(last).filteredOn(e -> e.kind().equals(MetricsHistory.TRAIN)).extracting(MetricsHistory.Entry::step)
                .containsExactly(5L, 10L, 15L, 20L, 25L, 30L, 35L, 40L, 45L, 50L, 55L, 60L);
        assertThat(last).filteredOn(e -> e.kind().equals(MetricsHistory.EVAL)).extracting(MetricsHistory.Entry::step)
                .containsExactly(20L, 40L, 60L);
        assertThat(last).allSatisfy(e -> {
            assertThat(e.sae()).isEqualTo("lm");
            assertThat(e.tokens()).isEqualTo(e.step() * 64);
        });
        List<MetricsHistory.Entry> train = last.stream().filter(e -> e.kind().equals(MetricsHistory.TRAIN)).toList();
        for (int i = 0; i < logged.size(); i++) {
            Metrics m = logged.get(i);
            assertThat(train.get(i).metrics()).containsEntry("overall_loss", m.overallLoss()).containsEntry("mse_loss", m.mseLoss())
                    .containsEntry("l0", m.l0()).containsEntry("explained_variance", m.explainedVariance())
                    .containsEntry("dead_features", (double) m.deadFeatures()).containsEntry("learning_rate", m.learningRate())
                    .containsKeys("l0_loss", "l0_coefficient");   // JumpReLU's own loss and coefficient, by cfg.json's names
        }
        List<MetricsHistory.Entry> evals = last.stream().filter(e -> e.kind().equals(MetricsHistory.EVAL)).toList();
        for (int i = 0; i < evaluations.size(); i++) {
            Evaluation e = evaluations.get(i);
            assertThat(evals.get(i).metrics()).containsEntry("explained_variance", e.explainedVariance()).containsEntry("l0", e.l0())
                    .containsEntry("mse", e.mse()).containsEntry("ce_loss_score", e.downstream().ceLossScore())
                    .containsEntry("kl_div_score", e.downstream().klDivScore()).containsEntry("ce_loss_with_sae", e.downstream().ceLossWithSae())
                    .containsEntry("ce_loss_without_sae", e.downstream().ceLossWithoutSae())
                    .containsEntry("ce_loss_with_ablation", e.downstream().ceLossWithAblation())
                    .containsEntry("kl_div_with_sae", e.downstream().klDivWithSae())
                    .containsEntry("kl_div_with_ablation", e.downstream().klDivWithAblation())
                    .doesNotContainKey("evaluation_rows");
        }
        // The periodic checkpoint after step 41 holds the history up to it: the same lines, no later ones.
        assertThat(periodic).isEqualTo(last.stream().filter(e -> e.step() <= 41).toList());
        try (CheckpointStore store = CheckpointStore.open(dir.resolve("straight").toString())) {
            assertThat(store.verify("lm", "final_3840")).isEmpty();
            assertThat(store.manifest("lm", "final_3840").orElseThrow().files()).extracting(f -> f.path()).contains(MetricsHistory.FILE);
        }
    }

    @Test
    void aResumedRunsHistoryIsTheStraightRunsWithNothingTheLostAttemptLoggedAfterItsCheckpoint() throws Exception {
        TrainingRun run = run("lm");
        Path store = dir.resolve("lost-attempt");
        stopAfter27Steps(run, store);
        // Report settings do not change what is trained: the resume takes a run that changed them.
        TrainingRun reportChanged = withReport("lm", "{latents: 5, sample: 0}");
        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            // As if the attempt died after logging step 25 and before its stop checkpoint: the resume starts from step 21.
            checkpoints.delete("lm", "1728");
            assertThat(checkpoints.latest("lm")).get().extracting(c -> c.name()).isEqualTo("1344");
            Summary second = Training.run(RunIdentity.of(reportChanged), reportChanged.getSpec(), checkpoints, Training.Options.defaults(),
                    new TrainingListener() {
                    });
            assertThat(second.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        }

        assertThat(MetricsHistory.read(store.resolve("lm/final_3840").resolve(MetricsHistory.FILE)))
                .isEqualTo(MetricsHistory.read(dir.resolve("straight/lm/final_3840").resolve(MetricsHistory.FILE)));
    }

    @Test
    void reportedLatentsPastTheWidthTheModelGivesTheSaeAreRefusedBeforeTheFirstStep() throws Exception {
        TrainingRun run = withReport("past-width", "{latentIndices: [3, 4096]}");   // expansionFactor 2 of a narrow hook
        try (CheckpointStore checkpoints = CheckpointStore.open(dir.resolve("past-width").toString())) {
            assertThatThrownBy(() -> Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, Training.Options.defaults(),
                    new TrainingListener() {
                    }))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("spec.report.latentIndices[1]: 4096 is not a latent of SAE past-width, which has dSae ");
            assertThat(checkpoints.list("past-width")).isEmpty();
        }
    }

    static TrainingRun withReport(String name, String report) throws Exception {
        return TrainingRuns.parse(RUN.replace("NAME", name).replace("MODEL", dir.resolve("model").toString())
                .replace("CORPUS", dir.resolve("corpus.jsonl").toString()) + "  report: " + report + "\n", name).get(0);
    }

    @Test
    void aFileAddedToTheDatasetMidRunIsNotReadByTheResumedRun() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("growing-corpus"));
        Files.copy(dir.resolve("corpus.jsonl"), corpus.resolve("corpus.jsonl"));
        TrainingRun run = run("lm", corpus.toString());
        Path store = dir.resolve("grown-store");
        stopAfter27Steps(run, store);
        // Sorts first: a run that listed the folder again would read it in its place and hold out other text.
        Files.writeString(corpus.resolve("0-added.jsonl"), "{\"text\": \"a document added while the run was stopped\"}\n".repeat(50));

        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            Summary second = Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, Training.Options.defaults(),
                    new TrainingListener() {
                    });
            assertThat(second.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        }
        // The straight run read the same single file (its name changes nothing read from it) under the same run name (the SAE's seed).
        SaeCheckpointDirs.assertSameWeights(dir.resolve("straight/lm/final_3840"), store.resolve("lm/final_3840"));
    }

    @Test
    void aDatasetFileChangedMidRunRefusesTheResumeNamingTheFile() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("changing-corpus"));
        Path file = Files.copy(dir.resolve("corpus.jsonl"), corpus.resolve("corpus.jsonl"));
        TrainingRun run = run("lm", corpus.toString());
        Path store = dir.resolve("changed-store");
        stopAfter27Steps(run, store);
        Files.writeString(file, "{\"text\": \"one more document\"}\n", java.nio.file.StandardOpenOption.APPEND);

        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            assertThatThrownBy(() -> Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, Training.Options.defaults(),
                    new TrainingListener() {
                    }))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dataset file " + file + " changed since the run's checkpoint recorded it")
                    .hasMessageContaining("an exact resume is impossible");
        }
    }

    @Test
    void anEvalDatasetFileChangedMidRunRefusesTheResumeNamingTheFile() throws Exception {
        Path eval = Files.writeString(dir.resolve("eval-corpus.jsonl"), "{\"text\": \"text the run evaluates on, never trains on\"}\n".repeat(40));
        TrainingRun run = run("lm", dir.resolve("corpus.jsonl") + ", eval: {uri: " + eval + "}");
        Path store = dir.resolve("eval-changed-store");
        stopAfter27Steps(run, store);
        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            String inputs = new String(checkpoints.read("lm", checkpoints.latest("lm").orElseThrow().name(), "inputs.json").readAllBytes());
            assertThat(new ObjectMapper().readTree(inputs).path("eval").path("files").get(0).path("name").asText()).isEqualTo(eval.toString());
        }
        Files.writeString(eval, "{\"text\": \"one more document\"}\n", java.nio.file.StandardOpenOption.APPEND);

        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            assertThatThrownBy(() -> Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, Training.Options.defaults(),
                    new TrainingListener() {
                    }))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("spec.dataset.eval.uri: dataset file " + eval + " changed since the run's checkpoint recorded it");
        }
    }

    private static void stopAfter27Steps(TrainingRun run, Path store) throws IOException {
        try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
            Summary first = Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, new Training.Options(27L, new StopRequest()),
                    new TrainingListener() {
                    });
            assertThat(first.outcome()).isEqualTo(Summary.Outcome.STOPPED);
        }
    }

    private static JsonNode cfg(Path checkpoint) throws IOException {
        return new ObjectMapper().readTree(checkpoint.resolve(SaeLensCheckpoint.CONFIG).toFile());
    }
}
