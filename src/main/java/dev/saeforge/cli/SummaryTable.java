package dev.saeforge.cli;

import dev.saeforge.train.Summary;
import dev.saeforge.train.Evaluation;
import dev.saeforge.train.Training;

import java.io.PrintWriter;

/** A finished run's summary, one fact per line. */
final class SummaryTable {
    private SummaryTable() {
    }

    static void print(PrintWriter out, Summary s) {
        row(out, "run", s.run());
        row(out, "outcome", s.outcome().name().toLowerCase());
        row(out, "steps", String.format("%,d", s.steps()));
        row(out, "tokens", String.format("%,d", s.tokens()));
        if (s.tokensPerSecond() > 0) {
            row(out, "tokens/s", String.format("%,.0f", s.tokensPerSecond()));
        }
        if (s.explainedVariance() != null) {
            row(out, "explained variance", String.format("%.4f", s.explainedVariance()));
        }
        if (s.l0() != null) {
            row(out, "L0", String.format("%.2f", s.l0()));
        }
        Evaluation.Downstream d = s.evaluation() == null ? null : s.evaluation().downstream();
        if (d != null) {
            row(out, "CE loss score", String.format("%.4f", d.ceLossScore()));
            row(out, "CE loss", String.format("%.4f with SAE, %.4f without, %.4f zero-ablated", d.ceLossWithSae(), d.ceLossWithoutSae(),
                    d.ceLossWithAblation()));
            row(out, "KL divergence", String.format("%.4g with SAE, %.4g zero-ablated (score %.4f)", d.klDivWithSae(), d.klDivWithAblation(),
                    d.klDivScore()));
        }
        if (s.deadFeatures() != null) {
            row(out, "dead features", String.valueOf(s.deadFeatures()));
        }
        if (s.groundTruthRecovered() != null) {
            row(out, "ground truth", String.format("%d of %d recovered (decoder cosine > %.1f)", s.groundTruthRecovered(),
                    s.groundTruthFeatures(), Evaluation.RECOVERY_COSINE));
        }
        row(out, "checkpoint", s.checkpoint());
    }

    private static void row(PrintWriter out, String key, String value) {
        out.printf("%-20s %s%n", key, value);
    }
}
