package dev.saeforge.cli;

import dev.saeforge.train.Progress;
import dev.saeforge.train.Plan;
import dev.saeforge.train.TrainingListener;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.train.Evaluation;
import dev.saeforge.train.Metrics;
import dev.saeforge.train.Training;

import java.io.PrintWriter;

/** Training progress on the terminal: one line every few seconds, every evaluation and every checkpoint. */
final class TerminalProgress implements TrainingListener {
    private static final long INTERVAL_NANOS = 2_000_000_000L;

    private final PrintWriter err;
    private long lastPrinted;
    private Progress pending;

    TerminalProgress(PrintWriter err) {
        this.err = err;
    }

    @Override
    public void started(Plan plan) {
        err.printf("saeforge: training %s on %s: %s%n", plan.run(), plan.device(), plan.source());
        err.printf("saeforge: %d SAE%s (d_in %d, d_sae %d first), %,d steps of %,d tokens%s%n", plan.saes().size(), plan.saes().size() == 1 ? "" : "s",
                plan.saes().get(0).dIn(), plan.saes().get(0).dSae(), plan.totalSteps(),
                plan.batchSize(), plan.resumedFrom().map(c -> ", resuming from " + c + " at step " + plan.startStep()).orElse(""));
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
        StringBuilder line = new StringBuilder(String.format("eval at step %d: EV %.3f  L0 %.2f  MSE %.4g", step, e.explainedVariance(), e.l0(), e.mse()));
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
        Metrics m = p.saes().get(0);
        err.printf("step %d/%d  %s/%s tok  %s tok/s  ETA %s  loss %.4g  L0 %.2f  EV %.3f  dead %d%n",
                m.step(), p.totalSteps(), Units.count(m.tokens()), Units.count(p.totalTokens()),
                Units.count(Math.round(p.tokensPerSecond())), Units.duration(p.etaSeconds()), m.overallLoss(), m.l0(),
                m.explainedVariance(), m.deadFeatures());
        err.flush();
        pending = null;
    }
}
