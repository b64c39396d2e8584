package dev.saeforge.cli;

import dev.saeforge.operator.RunStatusReporter;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.train.Evaluation;
import dev.saeforge.train.Progress;
import dev.saeforge.train.Summary;
import dev.saeforge.train.TrainingListener;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Training progress written to the TrainingRun's status at an interval, at every checkpoint and
 * at the end: the run's pace and each SAE's figures (status.saes). The API server refusing a
 * report does not stop training: it is said on stderr and the next report tries again.
 */
final class StatusReports implements TrainingListener {
    private final RunStatusReporter reporter;
    private final long intervalNanos;
    private final PrintWriter err;
    private Progress latest;
    /** Each SAE's CE loss score at its latest evaluation; the step metrics have none. */
    private final Map<String, Double> ceLossScores = new HashMap<>();
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
    public void evaluated(long step, long tokens, String sae, Evaluation evaluation) {
        if (evaluation.downstream() != null) {
            ceLossScores.put(sae, evaluation.downstream().ceLossScore());
        }
    }

    @Override
    public void checkpointed(CheckpointRef checkpoint) {
        lastCheckpoint = checkpoint.uri();
        report();
    }

    /** The final report: the summary's figures, which come from each SAE's held-out evaluation. */
    void flush(Summary summary) {
        long total = latest != null ? latest.totalTokens() : summary.tokens();
        List<RunStatusReporter.SaeProgress> saes = summary.saes().stream().map(sae -> {
            Evaluation e = sae.evaluation();
            if (e == null) { // stopped early: no final evaluation, the figures reported before stay
                return new RunStatusReporter.SaeProgress(sae.name(), sae.hook(), null, null, sae.deadFeatures(), ceLossScores.get(sae.name()));
            }
            // Boxed on both sides: a synthetic run has no CE score, and a conditional of double and null would unbox it.
            Double ceLossScore = e.downstream() != null ? Double.valueOf(e.downstream().ceLossScore()) : ceLossScores.get(sae.name());
            return new RunStatusReporter.SaeProgress(sae.name(), sae.hook(), e.l0(), e.explainedVariance(), sae.deadFeatures(), ceLossScore);
        }).toList();
        send(new RunStatusReporter.Progress(summary.tokens(), total, summary.tokensPerSecond(), Duration.ZERO, saes, summary.checkpoint()));
    }

    private void report() {
        if (latest == null) {
            return;
        }
        Duration eta = Double.isFinite(latest.etaSeconds()) ? Duration.ofSeconds(Math.round(latest.etaSeconds())) : null;
        List<RunStatusReporter.SaeProgress> saes = latest.saes().stream().map(m -> new RunStatusReporter.SaeProgress(m.sae(), m.hook(),
                m.l0(), m.explainedVariance(), m.deadFeatures(), ceLossScores.get(m.sae()))).toList();
        send(new RunStatusReporter.Progress(latest.tokens(), latest.totalTokens(), latest.tokensPerSecond(), eta, saes, lastCheckpoint));
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
