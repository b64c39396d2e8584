package dev.saeforge.cli;

import dev.saeforge.train.Evaluation;
import dev.saeforge.train.Summary;
import dev.saeforge.train.Training;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A finished run's summary, one fact per line; for several SAEs, the run's facts and then a row per SAE. */
final class SummaryTable {
    private static final String NONE = "-";

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
        if (s.evaluationNote() != null) {
            row(out, "evaluation", s.evaluationNote());
        }
        if (s.groundTruthRecovered() != null) {
            row(out, "ground truth", String.format("%d of %d recovered (decoder cosine > %.1f)", s.groundTruthRecovered(),
                    s.groundTruthFeatures(), Evaluation.RECOVERY_COSINE));
        }
        row(out, "checkpoint", s.checkpoint());
        if (s.saes().size() > 1) {
            out.println();
            Columns.print(out, saeRows(s.saes()), 3, "");
        }
    }

    /**
     * A row per SAE with its held-out evaluation ("-" for a run stopped before it), and a
     * ground-truth column when a synthetic source gave one.
     */
    private static List<List<String>> saeRows(List<Summary.SaeSummary> saes) {
        boolean groundTruth = saes.stream().anyMatch(sae -> sae.evaluation() != null && sae.evaluation().groundTruthRecovered() != null);
        List<List<String>> rows = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("SAE", "HOOK", "EV", "L0", "CE SCORE", "DEAD"));
        if (groundTruth) {
            header.add("RECOVERED");
        }
        header.add("CHECKPOINT");
        rows.add(header);
        for (Summary.SaeSummary sae : saes) {
            Evaluation e = sae.evaluation();
            List<String> row = new ArrayList<>(List.of(sae.name(), sae.hook() == null ? NONE : sae.hook(),
                    e == null ? NONE : String.format("%.4f", e.explainedVariance()), e == null ? NONE : String.format("%.2f", e.l0()),
                    e == null || e.downstream() == null ? NONE : String.format("%.4f", e.downstream().ceLossScore()),
                    sae.deadFeatures() == null ? NONE : sae.deadFeatures().toString()));
            if (groundTruth) {
                row.add(e == null || e.groundTruthRecovered() == null ? NONE : e.groundTruthRecovered() + "/" + e.groundTruthFeatures());
            }
            row.add(sae.checkpoint() == null ? NONE : sae.checkpoint());
            rows.add(row);
        }
        return rows;
    }

    private static void row(PrintWriter out, String key, String value) {
        out.printf("%-20s %s%n", key, value);
    }
}
