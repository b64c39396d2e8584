package dev.saeforge.operator;

import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import static dev.saeforge.operator.Fixtures.NAMESPACE;
import static dev.saeforge.operator.Fixtures.SEED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/** The trainer's progress reports against an API server: its fields only, never the operator's. */
class RunStatusReporterTest extends SeedRunOnApiServer {
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-01T12:00:00Z"), ZoneOffset.UTC);
    static final RunReference RUN = new RunReference(NAMESPACE, SEED);

    TrainingRunStatus status() {
        return read().getStatus();
    }

    /** What the operator writes, the way it writes it. */
    void operatorWrites(TrainingRunStatus.Phase phase, String reason) {
        TrainingRun run = client.resources(TrainingRun.class).inNamespace(NAMESPACE).withName(SEED).get();
        TrainingRunStatus status = new TrainingRunStatus();
        status.phase = phase;
        status.jobName = SEED + "-a1";
        status.attempts = 1;
        status.conditions.add(new ConditionBuilder().withType("Running").withStatus("True").withReason(reason).build());
        StatusPatch.write(client, run, Reconciler.operatorFields(run.getStatus()), Reconciler.operatorFields(status));
    }

    /** A report of the seed run, whose one SAE is named after it. */
    static RunStatusReporter.Progress progress(long tokens, Double l0, String checkpoint) {
        return progressOf(tokens, checkpoint, new RunStatusReporter.SaeProgress(SEED, "blocks.28.hook_mlp_out", l0, 0.871, 12, null));
    }

    static RunStatusReporter.Progress progressOf(long tokens, String checkpoint, RunStatusReporter.SaeProgress... saes) {
        return new RunStatusReporter.Progress(tokens, 1_228_800_000L, 13_650.5, Duration.ofMinutes(192), List.of(saes), checkpoint);
    }

    @Test
    void aReportWritesTheProgressFieldsAndLeavesTheOperatorsAlone() {
        operatorWrites(TrainingRunStatus.Phase.Running, "PodRunning");

        new RunStatusReporter(client, RUN, CLOCK).report(progress(516_096_000L, 61.25, "s3://saeforge/runs/qwen3-8b-layer28-mlp/checkpoint-1"));

        TrainingRunStatus status = status();
        assertThat(status.tokensTrained).isEqualTo(516_096_000L);
        assertThat(status.progress).isEqualTo("42.0%");
        assertThat(status.tokensPerSecond).isEqualTo(13_650.5);
        assertThat(status.eta).isEqualTo("3h12m");
        assertThat(status.l0).isEqualTo(61.25);
        assertThat(status.explainedVariance).isEqualTo(0.871);
        assertThat(status.deadFeatures).isEqualTo(12);
        assertThat(status.saes).singleElement().satisfies(sae -> {
            assertThat(sae.name).isEqualTo(SEED);
            assertThat(sae.hook).isEqualTo("blocks.28.hook_mlp_out");
            assertThat(sae.l0).isEqualTo(61.25);
            assertThat(sae.explainedVariance).isEqualTo(0.871);
            assertThat(sae.deadFeatures).isEqualTo(12);
            assertThat(sae.ceLossScore).isNull();
        });
        assertThat(status.lastCheckpoint).isEqualTo("s3://saeforge/runs/qwen3-8b-layer28-mlp/checkpoint-1");
        assertThat(status.checkpoints).containsExactly("s3://saeforge/runs/qwen3-8b-layer28-mlp/checkpoint-1");
        assertThat(status.lastProgressTime).isEqualTo("2026-01-01T12:00:00Z");
        assertThat(status.phase).isEqualTo(TrainingRunStatus.Phase.Running);
        assertThat(status.jobName).isEqualTo(SEED + "-a1");
        assertThat(status.conditions).extracting(c -> c.getReason()).containsExactly("PodRunning");
    }

    @Test
    void theOperatorsWritesLeaveTheProgressAlone() {
        operatorWrites(TrainingRunStatus.Phase.Running, "PodRunning");
        new RunStatusReporter(client, RUN, CLOCK).report(progress(1_228_800_000L, 60.0, null));

        operatorWrites(TrainingRunStatus.Phase.Succeeded, "Succeeded");

        TrainingRunStatus status = status();
        assertThat(status.phase).isEqualTo(TrainingRunStatus.Phase.Succeeded);
        assertThat(status.progress).isEqualTo("100.0%");
        assertThat(status.l0).isEqualTo(60.0);
    }

    @Test
    void aMetricNotMeasuredYetKeepsItsLastValue() {
        RunStatusReporter reporter = new RunStatusReporter(client, RUN, CLOCK);
        reporter.report(progress(4096, 55.0, null));
        reporter.report(progress(8192, null, null));

        assertThat(status().l0).isEqualTo(55.0);
        assertThat(status().tokensTrained).isEqualTo(8192);
    }

    @Test
    void aRunOfSeveralSaesReportsEachInItsOrderAndNoRunLevelFigures() {
        new RunStatusReporter(client, RUN, CLOCK).report(progressOf(4096, null,
                new RunStatusReporter.SaeProgress("mlp28-c1", "blocks.28.hook_mlp_out", 61.25, 0.871, 12, 0.93),
                new RunStatusReporter.SaeProgress("resid20-c3", "blocks.20.hook_resid_post", 18.5, 0.64, 0, null)));

        TrainingRunStatus status = status();
        assertThat(status.saes).extracting(sae -> sae.name).containsExactly("mlp28-c1", "resid20-c3");
        assertThat(status.saes.get(0)).satisfies(sae -> {
            assertThat(sae.hook).isEqualTo("blocks.28.hook_mlp_out");
            assertThat(sae.l0).isEqualTo(61.25);
            assertThat(sae.explainedVariance).isEqualTo(0.871);
            assertThat(sae.deadFeatures).isEqualTo(12);
            assertThat(sae.ceLossScore).isEqualTo(0.93);
        });
        assertThat(status.saes.get(1)).satisfies(sae -> {
            assertThat(sae.hook).isEqualTo("blocks.20.hook_resid_post");
            assertThat(sae.deadFeatures).isZero();
            assertThat(sae.ceLossScore).isNull();
        });
        assertThat(status.l0).as("no one L0 stands for several SAEs").isNull();
        assertThat(status.explainedVariance).isNull();
        assertThat(status.deadFeatures).isNull();
        assertThat(status.tokensTrained).isEqualTo(4096);
    }

    @Test
    void anSaesCeLossScoreStaysUntilTheNextEvaluationEvenAcrossAttempts() {
        new RunStatusReporter(client, RUN, CLOCK).report(progressOf(4096, null,
                new RunStatusReporter.SaeProgress("mlp28-c1", "blocks.28.hook_mlp_out", 61.25, 0.871, 12, 0.93),
                new RunStatusReporter.SaeProgress("mlp28-c3", "blocks.28.hook_mlp_out", 20.0, 0.8, 3, 0.88)));
        RunStatusReporter resumed = new RunStatusReporter(client, RUN, CLOCK);

        resumed.report(progressOf(8192, null,
                new RunStatusReporter.SaeProgress("mlp28-c1", "blocks.28.hook_mlp_out", 60.0, 0.88, 10, null),
                new RunStatusReporter.SaeProgress("mlp28-c3", "blocks.28.hook_mlp_out", Double.NaN, 0.81, 2, 0.9)));

        assertThat(status().saes).extracting(sae -> sae.name, sae -> sae.l0, sae -> sae.ceLossScore).containsExactly(
                tuple("mlp28-c1", 60.0, 0.93),
                tuple("mlp28-c3", 20.0, 0.9));
    }

    @Test
    void checkpointsAccumulateAcrossAttemptsWithoutRepeats() {
        RunStatusReporter first = new RunStatusReporter(client, RUN, CLOCK);
        first.report(progress(1000, null, "s3://b/r/1"));
        first.report(progress(2000, null, "s3://b/r/1"));
        RunStatusReporter resumed = new RunStatusReporter(client, RUN, CLOCK);
        resumed.report(progress(3000, null, "s3://b/r/2"));

        assertThat(status().checkpoints).containsExactly("s3://b/r/1", "s3://b/r/2");
        assertThat(status().lastCheckpoint).isEqualTo("s3://b/r/2");
    }

    @Test
    void theListKeepsTheLatestCheckpoints() {
        List<String> listed = List.of();
        for (int i = 0; i < RunStatusReporter.MAX_CHECKPOINTS + 5; i++) {
            listed = RunStatusReporter.withCheckpoint(listed, "s3://b/r/" + i);
        }
        assertThat(listed).hasSize(RunStatusReporter.MAX_CHECKPOINTS).startsWith("s3://b/r/5").endsWith("s3://b/r/54");
    }

    @Test
    void aFailedReportDoesNotDoomTheReportsAfterIt() {
        RunStatusReporter reporter = new RunStatusReporter(client, RUN, CLOCK);
        api.failNextPatch("/apis/saeforge.dev/v1alpha1/namespaces/" + NAMESPACE + "/trainingruns/" + SEED + "/status", 403);
        assertThatThrownBy(() -> reporter.report(progress(4096, 55.0, null))).isInstanceOf(KubernetesClientException.class);
        operatorWrites(TrainingRunStatus.Phase.Running, "PodRunning");

        reporter.report(progress(8192, 56.0, null));
        assertThat(status().tokensTrained).isEqualTo(8192);

        // The operator writes between two reports: the second is refused as a conflict and made again on a fresh read.
        operatorWrites(TrainingRunStatus.Phase.Running, "StillRunning");
        reporter.report(progress(12288, 57.0, "s3://b/r/1"));

        TrainingRunStatus status = status();
        assertThat(status.tokensTrained).isEqualTo(12288);
        assertThat(status.l0).isEqualTo(57.0);
        assertThat(status.checkpoints).containsExactly("s3://b/r/1");
        assertThat(status.phase).isEqualTo(TrainingRunStatus.Phase.Running);
        assertThat(status.conditions).extracting(c -> c.getReason()).containsExactly("StillRunning");
    }

    @Test
    void aRunThatDoesNotExistIsAnError() {
        RunStatusReporter reporter = new RunStatusReporter(client, new RunReference(NAMESPACE, "gone"), CLOCK);

        assertThatThrownBy(() -> reporter.report(progress(1, null, null)))
                .isInstanceOf(KubernetesClientException.class).hasMessageContaining("research/gone does not exist");
    }

    @Test
    void runReferencesAreNamespaceSlashName() {
        assertThat(RunReference.parse("research/qwen3-8b-layer28-mlp")).isEqualTo(RUN);
        assertThat(RUN).hasToString("research/qwen3-8b-layer28-mlp");
        assertThatThrownBy(() -> RunReference.parse("qwen3-8b-layer28-mlp"))
                .hasMessageContaining("expected NAMESPACE/NAME");
        assertThatThrownBy(() -> RunReference.parse("Research/x")).hasMessageContaining("is not a run reference");
    }
}
