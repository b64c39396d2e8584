package dev.saeforge.cli;

import dev.saeforge.train.Evaluation;
import dev.saeforge.train.Metrics;
import dev.saeforge.train.Plan;
import dev.saeforge.train.Progress;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** What a terminal shows of a run: a line per print for one SAE, a small table for several. */
class TerminalProgressTest {
    final StringWriter printed = new StringWriter();
    final TerminalProgress progress = new TerminalProgress(new PrintWriter(printed));

    static Plan plan(Plan.SaePlan... saes) {
        return new Plan("three", "hf://Qwen/Qwen3-8B", "cuda:0", 1000, 4_096_000, 4096, Optional.empty(), 0, List.of(saes));
    }

    static Metrics metrics(String sae, String hook, double loss, double l0, double explainedVariance, int dead) {
        return new Metrics(sae, hook, 1000, 4_096_000, loss, loss * 0.8, loss * 0.2, 0, explainedVariance, l0, dead, 7e-5, 1.0, 0.02);
    }

    /** The last step: printed at once, whatever the interval. */
    static Progress lastStep(Metrics... saes) {
        return new Progress(1000, 4_096_000, 1000, 4_096_000, 12_345, 0, List.of(saes));
    }

    static Evaluation evaluation() {
        return new Evaluation(8192, 0.8712, 60.5, 0.0123, null, null, new Evaluation.Downstream(2.1, 2.0, 6.0, 0.975, 0.05, 1.5, 0.97));
    }

    @Test
    void oneSaeIsOneLinePerPrint() {
        progress.started(plan(new Plan.SaePlan("tiny", "blocks.1.hook_mlp_out", 64, 256)));
        progress.progress(lastStep(metrics("tiny", "blocks.1.hook_mlp_out", 0.01234, 12.5, 0.9, 3)));
        progress.evaluated(1000, 4_096_000, "tiny", evaluation());

        assertThat(printed.toString().lines()).containsExactly(
                "saeforge: training three on cuda:0: hf://Qwen/Qwen3-8B",
                "saeforge: d_in 64, d_sae 256, 1,000 steps of 4,096 tokens",
                "step 1000/1000  4.10M/4.10M tok  12.3k tok/s  ETA 0s  loss 0.01234  L0 12.50  EV 0.900  dead 3",
                "eval at step 1000: EV 0.871  L0 60.50  MSE 0.01230  CE score 0.975 (CE 2.100 with SAE, 2.000 without, 6.000 ablated)"
                        + "  KL 0.05000 with SAE, 1.500 ablated");
    }

    @Test
    void severalSaesAreThePaceAndARowEachAndTheirEvaluationsNameThem() {
        progress.started(plan(new Plan.SaePlan("mlp28-c1", "blocks.28.hook_mlp_out", 4096, 16384),
                new Plan.SaePlan("resid20", "blocks.20.hook_resid_post", 4096, 32768)));
        progress.progress(lastStep(metrics("mlp28-c1", "blocks.28.hook_mlp_out", 0.01234, 61.25, 0.871, 12),
                metrics("resid20", "blocks.20.hook_resid_post", 0.5, 18.0, 0.64, 0)));
        progress.evaluated(1000, 4_096_000, "resid20", evaluation());

        assertThat(printed.toString().lines()).containsExactly(
                "saeforge: training three on cuda:0: hf://Qwen/Qwen3-8B",
                "saeforge: 2 SAEs, 1,000 steps of 4,096 tokens",
                "  mlp28-c1  blocks.28.hook_mlp_out     d_in 4096  d_sae 16384",
                "  resid20   blocks.20.hook_resid_post  d_in 4096  d_sae 32768",
                "step 1000/1000  4.10M/4.10M tok  12.3k tok/s  ETA 0s",
                "  SAE       HOOK                       LOSS     L0     EV     DEAD",
                "  mlp28-c1  blocks.28.hook_mlp_out     0.01234  61.25  0.871  12",
                "  resid20   blocks.20.hook_resid_post  0.5000   18.00  0.640  0",
                "eval of resid20 at step 1000: EV 0.871  L0 60.50  MSE 0.01230  CE score 0.975 (CE 2.100 with SAE, 2.000 without,"
                        + " 6.000 ablated)  KL 0.05000 with SAE, 1.500 ablated");
    }
}
