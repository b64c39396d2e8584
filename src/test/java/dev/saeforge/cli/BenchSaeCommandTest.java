package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Percentage.withPercentage;

/** bench sae on small shapes: what it reports, and that training on leaks no tensor. */
@QuarkusMainTest
class BenchSaeCommandTest {
    @Test
    void memoryStepsReportResidentMemoryEvery50StepsAndTheSameLiveTensorCount(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult result = launcher.launch("bench", "sae", "--d-in", "16", "--d-sae", "64", "--batch", "32",
                "--rounds", "1", "--memory-steps", "120", "-o", "json");

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        JsonNode json = new ObjectMapper().readTree(result.getOutput());
        assertThat(json.get("rss_mib_every_50_steps")).hasSize(3);   // steps 50, 100 and the last, 120
        assertThat(json.get("rss_mib_at_step_50").asLong()).isEqualTo(json.get("rss_mib_every_50_steps").get(0).asLong());
        assertThat(json.get("rss_mib_at_end").asLong()).isEqualTo(json.get("rss_mib_every_50_steps").get(2).asLong());
        assertThat(json.get("live_tensors_at_step_50").asInt()).isPositive()
                .isEqualTo(json.get("live_tensors_at_end").asInt());
        assertThat(json.get("matmul_gflops").asDouble())
                .isCloseTo(10.0 * 32 * 16 * 64 / json.get("matmul_seconds").asDouble() / 1e9, withPercentage(1e-9));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jumprelu", "topk", "batchtopk", "matryoshka_batchtopk", "standard"})
    void everyArchitectureTimesItsStepAgainstTheMatmulsAndTheTopKFamilyItsSelection(String architecture, QuarkusMainLauncher launcher)
            throws Exception {
        LaunchResult result = launcher.launch("bench", "sae", "--architecture", architecture, "--k", "4", "--d-in", "16",
                "--d-sae", "64", "--batch", "32", "--rounds", "2", "-o", "json");

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        JsonNode json = new ObjectMapper().readTree(result.getOutput());
        assertThat(json.get("architecture").asText()).isEqualTo(architecture);
        assertThat(json.get("non_matmul_seconds").asDouble())
                .isCloseTo(json.get("step_seconds").asDouble() - json.get("matmul_seconds").asDouble(), withPercentage(1e-9));
        assertThat(json.has("topk_seconds")).isEqualTo(architecture.contains("topk"));
    }

    @Test
    void anUnknownArchitectureOrAKBeyondTheWidthIsRefusedByName(QuarkusMainLauncher launcher) {
        LaunchResult unknown = launcher.launch("bench", "sae", "--architecture", "gated");
        assertThat(unknown.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(unknown.getErrorOutput()).contains("--architecture gated is not an SAE architecture; expected one of jumprelu, topk");

        LaunchResult wide = launcher.launch("bench", "sae", "--architecture", "topk", "--k", "100", "--d-sae", "64");
        assertThat(wide.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(wide.getErrorOutput()).contains("--k 100.0 must be above 0 and at most --d-sae 64");
    }

    @Test
    void aNegativeMemoryStepCountIsRefusedByName(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("bench", "sae", "--memory-steps", "-1");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.getErrorOutput()).contains("--memory-steps at least 0");
    }

    @Test
    void anOutputFormatOtherThanJsonIsRefusedByName(QuarkusMainLauncher launcher) {
        for (String bench : new String[]{"sae", "gpu", "startup"}) {
            LaunchResult result = launcher.launch("bench", bench, "-o", "yaml");

            assertThat(result.exitCode()).as(bench).isEqualTo(ExitCodes.INVALID_INPUT);
            assertThat(result.getErrorOutput()).as(bench).contains("Invalid value for option '--output': expected one of [json]", "'yaml'");
        }
    }
}
