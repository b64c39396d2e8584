package dev.saeforge.lm;

import dev.saeforge.tensor.Precision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ForwardBenchmarkTest {
    @TempDir
    Path dir;

    @Test
    void theBoundCountsExactlyTheProjectionsTheForwardRuns() {
        Qwen3Config c = TinyQwen3.Options.defaults().config();
        long layer = c.layerMatmulParameters();
        long attention = 2L * 64 * 64 + 2L * 64 * 32;

        assertThat(sum(c, "blocks.0.hook_resid_pre")).isZero();
        assertThat(sum(c, "blocks.0.hook_attn_out")).isEqualTo(attention);
        assertThat(sum(c, "blocks.1.hook_resid_mid")).isEqualTo(layer + attention);
        assertThat(sum(c, "blocks.1.mlp.hook_post")).isEqualTo(layer + attention + 2L * 64 * 128);
        assertThat(sum(c, "blocks.1.hook_resid_post")).isEqualTo(2 * layer);
    }

    @Test
    void aSmallRunReportsConsistentFigures() throws IOException {
        ForwardBenchmark.Settings settings = new ForwardBenchmark.Settings(TinyQwen3.Options.defaults(),
                HookPoint.parse("blocks.1.hook_mlp_out"), 2, 16, 2, 0, true);

        ForwardBenchmark.Result result = ForwardBenchmark.run(settings, dir);

        assertThat(result.tokens()).isEqualTo(32);
        assertThat(result.matmulParameters()).isEqualTo(2 * TinyQwen3.Options.defaults().config().layerMatmulParameters());
        assertThat(result.figures()).extracting(ForwardBenchmark.Figures::precision).containsExactly(Precision.FLOAT32, Precision.BFLOAT16);
        for (ForwardBenchmark.Figures f : result.figures()) {
            assertThat(f.forwardRuns()).hasSize(2);
            assertThat(f.forwardSeconds()).isPositive();
            assertThat(f.ratio()).isEqualTo(f.matmulSeconds() / f.forwardSeconds());
            assertThat(f.tokensPerSecond() / f.boundTokensPerSecond()).isCloseTo(f.ratio(), org.assertj.core.data.Offset.offset(1e-9));
            assertThat(f.peakAboveWeightsBytes()).as("measured with memory on").isNotNull().isNotNegative();
        }
    }

    private static long sum(Qwen3Config c, String hook) {
        return ForwardBenchmark.projectionShapes(c, HookPoint.parse(hook)).stream().mapToLong(s -> s[0] * s[1]).sum();
    }
}
