package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.operator.ApiServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The native executable against a Kubernetes API server (fabric8's mock in CRUD mode), reached the
 * way kubectl reaches one: through the kubeconfig that KUBECONFIG names. This exercises the
 * fabric8 client, its model classes and the TrainingRun's JSON binding in the native image.
 */
class NativeClusterCommandsIT {
    static final String NS = "research";

    @TempDir
    Path dir;

    ApiServer server;
    Map<String, String> env;

    @BeforeEach
    void startTheApiServer() throws Exception {
        server = ApiServer.start();
        env = Map.of("KUBECONFIG", server.writeKubeconfig(dir.resolve("kubeconfig"), NS).toString());
    }

    @AfterEach
    void stopTheApiServer() {
        server.close();
    }

    @Test
    void submitCreatesTheNormalisedRunAndGetListsIt() throws Exception {
        Path toy = dir.resolve("toy-superposition.yaml");
        Files.writeString(toy, Files.readString(Path.of("examples/toy-superposition.yaml")).replace("uri: runs", "uri: pod-local"));
        NativeBinary.Run submit = NativeBinary.run(env, null, "submit", toy.toString());

        assertThat(submit.exitCode()).as(submit.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(submit.stdout()).isEqualTo("trainingrun.saeforge.dev/toy-superposition created\n");
        TrainingRun stored = server.client.resources(TrainingRun.class).inNamespace(NS).withName("toy-superposition").get();
        assertThat(stored.getSpec().training.tokens).isEqualTo(3_072_000L);
        assertThat(stored.getSpec().sae.dSae).isEqualTo(128);
        assertThat(stored.getMetadata().getAnnotations().get(TrainingRun.TRACEPARENT_ANNOTATION))
                .as("a trace context from a run-time seeded SecureRandom").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");

        NativeBinary.Run get = NativeBinary.run(env, null, "get");
        assertThat(get.exitCode()).as(get.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(get.lines().get(0)).startsWith("NAME").contains("PHASE", "PROGRESS", "TOKENS/S", "AGE");
        assertThat(get.lines().get(1)).startsWith("toy-superposition");

        NativeBinary.Run yaml = NativeBinary.run(env, null, "get", "toy-superposition", "-o", "yaml");
        assertThat(yaml.exitCode()).as(yaml.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(yaml.stdout()).contains("kind: TrainingRun", "name: toy-superposition", "namespace: research", "dSae: 128");
    }

    @Test
    void anInvalidSpecCreatesNothingAndAMissingRunIsNotFound() throws Exception {
        NativeBinary.Run invalid = NativeBinary.run(env, null, "submit", "src/test/resources/invalid-specs/bad-hook.yaml");
        NativeBinary.Run missing = NativeBinary.run(env, null, "get", "nope");

        assertThat(invalid.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(invalid.stderr()).contains("spec.hook: \"blocks.x.hook_mlp_out\" is not a hook name");
        assertThat(server.client.resources(TrainingRun.class).inNamespace(NS).list().getItems()).isEmpty();
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(missing.stderr()).isEqualTo("error: trainingrun \"nope\" not found in namespace \"research\"\n");
    }
}
