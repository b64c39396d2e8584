package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The benchmarks that need something this machine may lack say so plainly and exit 69, measuring nothing. */
@QuarkusMainTest
class BenchAvailabilityTest {
    @Test
    void benchGpuWithoutAGpuSaysSoAndExitsUnavailable(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("bench", "gpu");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.UNAVAILABLE);
        assertThat(result.getErrorOutput()).contains("bench gpu: no GPU: libtorch (2.7.1) cannot place a tensor on cuda:0 here, "
                + "so nothing was measured.");
        assertThat(result.getOutput()).isEmpty();
    }

    @Test
    void benchStartupWithoutANativeExecutableSaysWhatIsMissing(QuarkusMainLauncher launcher) throws Exception {
        Path absent = Files.createTempDirectory("no-native").resolve("saeforge-runner");

        LaunchResult result = launcher.launch("bench", "startup", "--native", absent.toString());

        assertThat(result.exitCode()).isEqualTo(ExitCodes.UNAVAILABLE);
        assertThat(result.getErrorOutput()).contains("bench startup: no native executable at " + absent,
                "bench startup: nothing was measured: it compares both side by side");
    }
}
