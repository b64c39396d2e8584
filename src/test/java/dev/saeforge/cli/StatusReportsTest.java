package dev.saeforge.cli;

import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.operator.ApiServer;
import dev.saeforge.operator.RunReference;
import dev.saeforge.operator.RunStatusReporter;
import dev.saeforge.train.Evaluation;
import dev.saeforge.train.Metrics;
import dev.saeforge.train.Progress;
import dev.saeforge.train.Summary;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/** A trainer's reports of a run of three SAEs, as the API server stores them in the run's status. */
class StatusReportsTest {
    static final String NS = "research";
    static final String RUN = "qwen3-8b-three-saes";
    static final long TOTAL = 1_228_800_000L;

    ApiServer api;
    StatusReports reports;

    @BeforeEach
    void submit() throws Exception {
        api = ApiServer.start();
        TrainingRun run = TrainingRuns.read(Path.of("src/test/resources/specs/qwen3-8b-three-saes.yaml")).get(0);
        run.getMetadata().setNamespace(NS);
        api.client.resources(TrainingRun.class).inNamespace(NS).resource(run).create();
        reports = new StatusReports(new RunStatusReporter(api.client, new RunReference(NS, RUN), Clock.systemUTC()), Duration.ZERO,
                new PrintWriter(new StringWriter()));
    }

    @AfterEach
    void stop() {
        api.close();
    }

    TrainingRunStatus status() {
        return api.client.resources(TrainingRun.class).inNamespace(NS).withName(RUN).get().getStatus();
    }

    static Metrics metrics(String sae, String hook, long step, double l0, double explainedVariance, int dead) {
        return new Metrics(sae, hook, step, step * 4096, 0.5, 0.4, 0.1, 0, explainedVariance, l0, dead, 7e-5, 1.0, 0.02);
    }

    static Progress progress(long step, Metrics... saes) {
        return new Progress(step, step * 4096, TOTAL / 4096, TOTAL, 13_650.5, 3600, List.of(saes));
    }

    static Evaluation evaluation(double explainedVariance, double l0, double ceLossScore) {
        return new Evaluation(8192, explainedVariance, l0, 0.01, null, null,
                new Evaluation.Downstream(2.1, 2.0, 6.0, ceLossScore, 0.05, 1.5, 0.97));
    }

    /** The first report of each SAE's step metrics. */
    static final Progress STEP_100 = progress(100, metrics("mlp28-c1", "blocks.28.hook_mlp_out", 100, 61.25, 0.87, 12),
                metrics("mlp28-c3", "blocks.28.hook_mlp_out", 100, 20.5, 0.8, 3),
                metrics("resid20", "blocks.20.hook_resid_post", 100, 40.0, 0.7, 0));

    @Test
    void eachSaesStepMetricsAndItsLatestCeLossScoreReachStatusSaes() {
        reports.progress(STEP_100);
        reports.evaluated(100, 409_600, "mlp28-c3", evaluation(0.81, 21.0, 0.9));

        reports.progress(progress(200, metrics("mlp28-c1", "blocks.28.hook_mlp_out", 200, 60.0, 0.88, 10),
                metrics("mlp28-c3", "blocks.28.hook_mlp_out", 200, 20.0, 0.82, 2),
                metrics("resid20", "blocks.20.hook_resid_post", 200, 39.0, 0.72, 1)));

        TrainingRunStatus status = status();
        assertThat(status.tokensTrained).isEqualTo(200 * 4096);
        assertThat(status.saes).extracting(s -> s.name, s -> s.hook, s -> s.l0, s -> s.explainedVariance, s -> s.deadFeatures, s -> s.ceLossScore)
                .containsExactly(tuple("mlp28-c1", "blocks.28.hook_mlp_out", 60.0, 0.88, 10, null),
                        tuple("mlp28-c3", "blocks.28.hook_mlp_out", 20.0, 0.82, 2, 0.9),
                        tuple("resid20", "blocks.20.hook_resid_post", 39.0, 0.72, 1, null));
        assertThat(status.l0).as("several SAEs have no one run-level L0").isNull();
        assertThat(status.explainedVariance).isNull();
        assertThat(status.deadFeatures).isNull();
    }

    @Test
    void theFinalReportHasEachSaesHeldOutEvaluation() {
        reports.progress(STEP_100);
        String checkpoint = "s3://saeforge/runs/" + RUN + "/final_1228800000";

        reports.flush(new Summary(RUN, Summary.Outcome.COMPLETED, 300_000, TOTAL, 13_000, 94_000, checkpoint, List.of(
                new Summary.SaeSummary("mlp28-c1", "blocks.28.hook_mlp_out", evaluation(0.9, 58.5, 0.95), 8, checkpoint + "/mlp28-c1"),
                new Summary.SaeSummary("mlp28-c3", "blocks.28.hook_mlp_out", evaluation(0.83, 19.5, 0.91), 2, checkpoint + "/mlp28-c3"),
                new Summary.SaeSummary("resid20", "blocks.20.hook_resid_post", evaluation(0.75, 38.0, 0.8), 1, checkpoint + "/resid20"))));

        TrainingRunStatus status = status();
        assertThat(status.progress).isEqualTo("100.0%");
        assertThat(status.lastCheckpoint).isEqualTo(checkpoint);
        assertThat(status.saes).extracting(s -> s.name, s -> s.l0, s -> s.explainedVariance, s -> s.deadFeatures, s -> s.ceLossScore)
                .containsExactly(tuple("mlp28-c1", 58.5, 0.9, 8, 0.95), tuple("mlp28-c3", 19.5, 0.83, 2, 0.91),
                        tuple("resid20", 38.0, 0.75, 1, 0.8));
    }

    @Test
    void aRunStoppedBeforeItsFinalEvaluationKeepsTheLastFigures() {
        reports.progress(STEP_100);
        reports.evaluated(100, 409_600, "mlp28-c1", evaluation(0.86, 60.0, 0.93));

        reports.flush(new Summary(RUN, Summary.Outcome.STOPPED, 100, 409_600, 13_000, 30, null, List.of(
                new Summary.SaeSummary("mlp28-c1", "blocks.28.hook_mlp_out", null, null, null),
                new Summary.SaeSummary("mlp28-c3", "blocks.28.hook_mlp_out", null, null, null),
                new Summary.SaeSummary("resid20", "blocks.20.hook_resid_post", null, null, null))));

        assertThat(status().saes).extracting(s -> s.name, s -> s.l0, s -> s.deadFeatures, s -> s.ceLossScore)
                .containsExactly(tuple("mlp28-c1", 61.25, 12, 0.93), tuple("mlp28-c3", 20.5, 3, null), tuple("resid20", 40.0, 0, null));
    }

    @Test
    void aSyntheticRunsFinalReportHasNoCeLossScore() {
        reports.progress(progress(100, metrics("toy", "synthetic", 100, 6.0, 0.46, 0)));

        reports.flush(new Summary(RUN, Summary.Outcome.COMPLETED, 200, TOTAL, 13_000, 30, "file:///runs/toy/final_51200", List.of(
                new Summary.SaeSummary("toy", null, new Evaluation(2560, 0.46, 14.5, 0.15, 60, 64, null), 0, "file:///runs/toy/final_51200"))));

        assertThat(status().saes).extracting(s -> s.name, s -> s.l0, s -> s.explainedVariance, s -> s.ceLossScore)
                .containsExactly(tuple("toy", 14.5, 0.46, null));
    }
}
