package dev.saeforge.cli;

import dev.saeforge.train.Summary;
import dev.saeforge.train.Progress;
import dev.saeforge.train.TrainingListener;
import dev.saeforge.operator.RunStatusReporter;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.train.Metrics;
import dev.saeforge.train.Training;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.io.PrintWriter;
import java.time.Duration;

/**
 * Training progress written to the TrainingRun's status at an interval, at every checkpoint and
 * at the end. The API server refusing a report does not stop training: it is said on stderr
 * and the next report tries again.
 */
final class StatusReports implements TrainingListener {
    private final RunStatusReporter reporter;
    private final long intervalNanos;
    private final PrintWriter err;
    private Progress latest;
    private String lastCheckpoint;
    private long lastReport = Long.MIN_VALUE;

    StatusReports(RunStatusReporter reporter, Duration interval, PrintWriter err) {
        this.reporter = reporter;
        this.intervalNanos = interval.toNanos();
        this.err = err;
    }

    @Override
    public void progress(Progress progress) {
        latest = progress;
        if (lastReport == Long.MIN_VALUE || System.nanoTime() - lastReport >= intervalNanos) {
            report();
        }
    }

    @Override
    public void checkpointed(CheckpointRef checkpoint) {
        lastCheckpoint = checkpoint.uri();
        report();
    }

    /** The final report: the summary's figures, which come from the held-out evaluation. */
    void flush(Summary summary) {
        long total = latest != null ? latest.totalTokens() : summary.tokens();
        send(new RunStatusReporter.Progress(summary.tokens(), total, summary.tokensPerSecond(), Duration.ZERO,
                summary.l0(), summary.explainedVariance(), summary.deadFeatures(), summary.checkpoint()));
    }

    private void report() {
        if (latest == null) {
            return;
        }
        Metrics m = latest.saes().get(0);
        Duration eta = Double.isFinite(latest.etaSeconds()) ? Duration.ofSeconds(Math.round(latest.etaSeconds())) : null;
        send(new RunStatusReporter.Progress(m.tokens(), latest.totalTokens(), latest.tokensPerSecond(), eta, m.l0(),
                m.explainedVariance(), m.deadFeatures(), lastCheckpoint));
    }

    private void send(RunStatusReporter.Progress progress) {
        lastReport = System.nanoTime();
        try {
            reporter.report(progress);
        } catch (KubernetesClientException e) {
            err.println("saeforge: could not write progress to the TrainingRun's status (will retry): " + e.getMessage());
            err.flush();
        }
    }
}
