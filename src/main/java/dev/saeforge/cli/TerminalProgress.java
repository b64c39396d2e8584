package dev.saeforge.cli;

import dev.saeforge.cache.CacheWriter;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.train.Evaluation;
import dev.saeforge.train.Metrics;
import dev.saeforge.train.Plan;
import dev.saeforge.train.Progress;
import dev.saeforge.train.TrainingListener;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Training progress on the terminal every few seconds, and every evaluation and checkpoint: one
 * line for a single SAE; for several, a line of the run's pace and a row per SAE.
 */
final class TerminalProgress implements TrainingListener {
    private static final long INTERVAL_NANOS = 2_000_000_000L;

    private final PrintWriter err;
    private long lastPrinted;
    private Progress pending;
    /** Whether the run trains several SAEs, whose evaluation lines then say which SAE they are of. */
    private boolean several;

    TerminalProgress(PrintWriter err) {
        this.err = err;
    }

    /** A cache built before training shows its progress as saeforge cache build shows it. */
    @Override
    public CacheWriter.Listener cacheBuild() {
        return new CacheProgress(err);
    }

    @Override
    public void started(Plan plan) {
        several = plan.saes().size() > 1;
        String steps = String.format("%,d steps of %,d tokens%s", plan.totalSteps(), plan.batchSize(),
                plan.resumedFrom().map(c -> ", resuming from " + c + " at step " + plan.startStep()).orElse(""));
        err.printf("saeforge: training %s on %s: %s%n", plan.run(), plan.device(), plan.source());
        if (several) {
            err.printf("saeforge: %d SAEs, %s%n", plan.saes().size(), steps);
            List<List<String>> rows = new ArrayList<>();
            for (Plan.SaePlan sae : plan.saes()) {
                rows.add(List.of(sae.name(), sae.hook() == null ? "-" : sae.hook(), "d_in " + sae.dIn(), "d_sae " + sae.dSae()));
            }
            Columns.print(err, rows, 2, "  ");
        } else {
            Plan.SaePlan sae = plan.saes().get(0);
            err.printf("saeforge: d_in %d, d_sae %d, %s%n", sae.dIn(), sae.dSae(), steps);
        }
        err.flush();
        lastPrinted = System.nanoTime();
    }

    @Override
    public void progress(Progress progress) {
        pending = progress;
        long now = System.nanoTime();
        if (now - lastPrinted >= INTERVAL_NANOS || progress.tokens() >= progress.totalTokens()) {
            print(progress);
            lastPrinted = now;
        }
    }

    @Override
    public void checkpointed(CheckpointRef checkpoint) {
        if (pending != null) {
            print(pending);
        }
        err.println("checkpoint " + checkpoint.uri());
        err.flush();
    }

    @Override
    public void evaluated(long step, long tokens, String sae, Evaluation e) {
        if (pending != null) {
            print(pending);
        }
        StringBuilder line = new StringBuilder(String.format("eval%s at step %d: EV %.3f  L0 %.2f  MSE %.4g", several ? " of " + sae : "", step,
                e.explainedVariance(), e.l0(), e.mse()));
        Evaluation.Downstream d = e.downstream();
        if (d != null) {
            line.append(String.format("  CE score %.3f (CE %.4g with SAE, %.4g without, %.4g ablated)  KL %.4g with SAE, %.4g ablated",
                    d.ceLossScore(), d.ceLossWithSae(), d.ceLossWithoutSae(), d.ceLossWithAblation(), d.klDivWithSae(), d.klDivWithAblation()));
        }
        err.println(line);
        err.flush();
    }

    void finish() {
        err.flush();
    }

    private void print(Progress p) {
        String pace = String.format("step %d/%d  %s/%s tok  %s tok/s  ETA %s", p.step(), p.totalSteps(), Units.count(p.tokens()),
                Units.count(p.totalTokens()), Units.count(Math.round(p.tokensPerSecond())), Units.duration(p.etaSeconds()));
        if (p.saes().size() == 1) {
            Metrics m = p.saes().get(0);
            err.printf("%s  loss %.4g  L0 %.2f  EV %.3f  dead %d%n", pace, m.overallLoss(), m.l0(), m.explainedVariance(), m.deadFeatures());
        } else {
            err.println(pace);
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("SAE", "HOOK", "LOSS", "L0", "EV", "DEAD"));
            for (Metrics m : p.saes()) {
                rows.add(List.of(m.sae(), m.hook() == null ? "-" : m.hook(), String.format("%.4g", m.overallLoss()), String.format("%.2f", m.l0()),
                        String.format("%.3f", m.explainedVariance()), Integer.toString(m.deadFeatures())));
            }
            Columns.print(err, rows, 2, "  ");
        }
        err.flush();
        pending = null;
    }
}
