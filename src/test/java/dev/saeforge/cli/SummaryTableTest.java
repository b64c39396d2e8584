package dev.saeforge.cli;

import dev.saeforge.train.Evaluation;
import dev.saeforge.train.Summary;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The summary a finished run prints: its facts, and for several SAEs a row per SAE. */
class SummaryTableTest {
    static final String CHECKPOINT = "runs/three/final_4096000";

    static Evaluation evaluation(double explainedVariance, double l0, double ceLossScore) {
        return new Evaluation(8192, explainedVariance, l0, 0.01, null, null,
                new Evaluation.Downstream(2.1, 2.0, 6.0, ceLossScore, 0.05, 1.5, 0.97));
    }

    static String printed(Summary summary) {
        StringWriter out = new StringWriter();
        SummaryTable.print(new PrintWriter(out, true), summary);
        return out.toString();
    }

    @Test
    void oneSaesFiguresAreFactsOfTheRun() {
        String printed = printed(new Summary("tiny", Summary.Outcome.COMPLETED, 1000, 4_096_000, 12_345, 331, CHECKPOINT,
                List.of(new Summary.SaeSummary("tiny", "blocks.1.hook_mlp_out", evaluation(0.87123, 60.5, 0.975), 3, CHECKPOINT))));

        assertThat(printed.lines()).containsExactly(
                "run                  tiny",
                "outcome              completed",
                "steps                1,000",
                "tokens               4,096,000",
                "tokens/s             12,345",
                "explained variance   0.8712",
                "L0                   60.50",
                "CE loss score        0.9750",
                "CE loss              2.1000 with SAE, 2.0000 without, 6.0000 zero-ablated",
                "KL divergence        0.05000 with SAE, 1.500 zero-ablated (score 0.9700)",
                "dead features        3",
                "checkpoint           " + CHECKPOINT);
    }

    @Test
    void severalSaesAreARowEachAfterTheRunsFacts() {
        String printed = printed(new Summary("three", Summary.Outcome.COMPLETED, 1000, 4_096_000, 12_345, 331, CHECKPOINT, List.of(
                new Summary.SaeSummary("mlp28-c1", "blocks.28.hook_mlp_out", evaluation(0.87123, 60.5, 0.975), 12, CHECKPOINT + "/mlp28-c1"),
                new Summary.SaeSummary("resid20", "blocks.20.hook_resid_post", evaluation(0.64, 18.0, 0.8), 0, CHECKPOINT + "/resid20"))));

        assertThat(printed.lines()).containsExactly(
                "run                  three",
                "outcome              completed",
                "steps                1,000",
                "tokens               4,096,000",
                "tokens/s             12,345",
                "checkpoint           " + CHECKPOINT,
                "",
                "SAE        HOOK                        EV       L0      CE SCORE   DEAD   CHECKPOINT",
                "mlp28-c1   blocks.28.hook_mlp_out      0.8712   60.50   0.9750     12     runs/three/final_4096000/mlp28-c1",
                "resid20    blocks.20.hook_resid_post   0.6400   18.00   0.8000     0      runs/three/final_4096000/resid20");
    }

    @Test
    void aRunStoppedBeforeItsEvaluationShowsDashesAndASyntheticOneWhatItRecovered() {
        String stopped = printed(new Summary("three", Summary.Outcome.STOPPED, 10, 40_960, 0, 3, "runs/three/40960", List.of(
                new Summary.SaeSummary("a", null, null, null, "runs/three/40960/a"),
                new Summary.SaeSummary("b", null, null, null, "runs/three/40960/b"))));
        String synthetic = printed(new Summary("toy", Summary.Outcome.COMPLETED, 10, 40_960, 0, 3, "runs/toy/final_40960", List.of(
                new Summary.SaeSummary("toy-l0coefficient-1", null, new Evaluation(4096, 0.9, 5.0, 0.01, 60, 64, null), 2, "runs/toy/final_40960/a"),
                new Summary.SaeSummary("toy-l0coefficient-3", null, new Evaluation(4096, 0.8, 3.0, 0.02, 50, 64, null), 4, "runs/toy/final_40960/b"))));

        assertThat(stopped).contains("a     -      -    -    -          -      runs/three/40960/a\n");
        assertThat(synthetic.lines()).contains(
                "SAE                   HOOK   EV       L0     CE SCORE   DEAD   RECOVERED   CHECKPOINT",
                "toy-l0coefficient-1   -      0.9000   5.00   -          2      60/64       runs/toy/final_40960/a");
    }
}
