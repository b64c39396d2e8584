package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** With the API server down, a command fails after one quick retry, with exit 1 and a message that says what to check. */
@QuarkusMainTest
@TestProfile(UnreachableClusterTest.DeadApiServer.class)
class UnreachableClusterTest {
    static final int PORT = closedPort();

    public static class DeadApiServer implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.kubernetes-client.api-server-url", "https://127.0.0.1:" + PORT,
                    "quarkus.kubernetes-client.trust-certs", "true");
        }
    }

    /** A port nothing listens on: connecting is refused at once. */
    static int closedPort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aCommandFailsWithExitOneAndSaysTheServerCannotBeReached(QuarkusMainLauncher launcher) {
        long start = System.nanoTime();
        LaunchResult result = launcher.launch("get", "-n", "research");
        System.out.printf("saeforge get against a dead API server returned after %d ms%n", (System.nanoTime() - start) / 1_000_000);

        assertThat(result.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(result.getErrorOutput()).contains("error: cannot reach the Kubernetes API server at https://127.0.0.1:" + PORT,
                "kubectl config current-context");
        assertThat(result.getErrorOutput()).as("one clear line, no client chatter").doesNotContain("unstable version", "WARN");
    }

    @Test
    void submitValidatesBeforeItTriesTheCluster(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("submit", "src/test/resources/invalid-specs/bad-hook.yaml");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.getErrorOutput()).contains("spec.hook:").doesNotContain("cannot reach");
    }
}
