package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.Mappers;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.Safetensors;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** saeforge checkpoints list|inspect|pull on a file store holding a run with two checkpoints. */
@QuarkusMainTest
class CheckpointsCommandTest {
    static Path root;
    static Path stored;

    @AfterAll
    static void removeIt() throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    @BeforeAll
    static void publishARun() throws IOException {
        root = Files.createTempDirectory("checkpoints-cli");
        stored = root.resolve("runs");
        try (CheckpointStore store = CheckpointStore.open(stored.toString(), Map.of())) {
            store.publish("toy", "819200", checkpoint(root.resolve("b"), 819200), Map.of("tokens", 819200, "step", 200,
                    "metrics", Map.of("l0", 12.5, "explained_variance", 0.91)));
            store.publish("toy", "409600", checkpoint(root.resolve("a"), 409600), Map.of("tokens", 409600, "step", 100));
        }
    }

    /** A small SAELens checkpoint: cfg.json and sae_weights.safetensors with d_in 8, d_sae 16. */
    static Path checkpoint(Path dir, long tokens) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cfg.json"), """
                {"architecture": "jumprelu", "d_in": 8, "d_sae": 16, "dtype": "float32",
                 "metadata": {"model_name": "Qwen/Qwen3-0.6B", "hook_name": "blocks.3.hook_mlp_out", "context_size": 128}}
                """);
        Safetensors.writer()
                .addFloats("W_enc", Safetensors.Dtype.F32, new long[]{8, 16}, new float[128])
                .addFloats("W_dec", Safetensors.Dtype.F32, new long[]{16, 8}, new float[128])
                .addFloats("b_enc", Safetensors.Dtype.F32, new long[]{16}, new float[16])
                .addFloats("b_dec", Safetensors.Dtype.F32, new long[]{8}, new float[8])
                .addFloats("threshold", Safetensors.Dtype.F32, new long[]{16}, new float[16])
                .write(dir.resolve("sae_weights.safetensors"));
        Safetensors.writer().addLongs("n_dataset_processed", new long[]{}, new long[]{tokens / 128})
                .write(dir.resolve("activations_store_state.safetensors"));
        return dir;
    }

    @Test
    void listPrintsATableOldestFirst(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "list", "--store", stored.toString(), "toy");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput().lines().map(line -> line.split(" +")).toList())
                .satisfiesExactly(
                        header -> assertThat(header).containsExactly("NAME", "TOKENS", "STEP", "COMPLETE", "SIZE", "CREATED"),
                        first -> assertThat(first).startsWith("409600", "409600", "100", "yes"),
                        second -> assertThat(second).startsWith("819200", "819200", "200", "yes"));
    }

    @Test
    void listTakesAUriAndPrintsJsonOrYaml(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult json = launcher.launch("checkpoints", "list", stored.toUri() + "toy", "-o", "json");

        assertThat(json.exitCode()).isZero();
        JsonNode doc = new ObjectMapper().readTree(json.getOutput());
        assertThat(doc.path("run").asText()).isEqualTo("toy");
        assertThat(doc.path("checkpoints")).hasSize(2);
        assertThat(doc.path("checkpoints").get(1).path("name").asText()).isEqualTo("819200");
        assertThat(doc.path("checkpoints").get(1).path("info").path("metrics").path("l0").asDouble()).isEqualTo(12.5);
        assertThat(doc.path("checkpoints").get(1).path("uri").asText()).isEqualTo(stored.toUri() + "toy/819200");

        LaunchResult yaml = launcher.launch("checkpoints", "list", "--store", stored.toString(), "toy", "-o", "yaml");
        assertThat(yaml.exitCode()).isZero();
        assertThat(Mappers.yaml().readTree(yaml.getOutput()).path("checkpoints").get(0).path("tokens").asLong()).isEqualTo(409600);
    }

    @Test
    void inspectPrintsConfigTensorsMetricsAndCompleteness(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), "toy/819200");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput())
                .contains("Name:      819200", "Tokens:    819200", "Step:      200")
                .contains("Complete:  yes (3 files, sizes and sha256 verified)")
                .containsPattern("architecture: +jumprelu")
                .containsPattern("d_sae: +16")
                .containsPattern("hook_name: +blocks.3.hook_mlp_out")
                .contains("  sae_weights.safetensors:")
                .containsPattern("W_enc +F32 +\\[8, 16]")
                .containsPattern("threshold +F32 +\\[16]")
                .containsPattern("n_dataset_processed +I64 +\\[]")
                .contains("  metrics.l0: 12.5", "  metrics.explained_variance: 0.91");
    }

    @Test
    void inspectOfACorruptedCheckpointSaysWhichFileAndExitsOne(QuarkusMainLauncher launcher) throws IOException {
        Path copy = root.resolve("corrupt-store");
        try (CheckpointStore store = CheckpointStore.open(copy.toString(), Map.of())) {
            store.publish("toy", "409600", checkpoint(root.resolve("c"), 409600), Map.of("tokens", 409600));
        }
        Files.writeString(copy.resolve("toy/409600/cfg.json"), "{\"architecture\": \"standard\", \"d_in\": 8, \"d_sae\": 16}  ");

        LaunchResult result = launcher.launch("checkpoints", "inspect", copy.toUri() + "toy/409600");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(result.getOutput()).containsPattern("Complete:  no: cfg.json is \\d+ bytes; the manifest says \\d+");
    }

    @Test
    void pullWritesAVerifiedCopy(QuarkusMainLauncher launcher) throws IOException {
        Path into = root.resolve("pulled");

        LaunchResult result = launcher.launch("checkpoints", "pull", "--store", stored.toString(), "toy/409600", into.toString());

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).startsWith("Pulled " + stored.toUri() + "toy/409600 into " + into + " (3 files, ");
        assertThat(into.resolve("sae_weights.safetensors")).hasSameBinaryContentAs(stored.resolve("toy/409600/sae_weights.safetensors"));
    }

    @Test
    void badArgumentsExitTwoWithWhatWasExpected(QuarkusMainLauncher launcher) {
        LaunchResult missing = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), "toy/1");
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(missing.getErrorOutput()).isEqualTo("run toy in " + stored.toUri().toString().replaceAll("/$", "")
                + " has no checkpoint 1; it has 409600, 819200");

        LaunchResult notRunName = launcher.launch("checkpoints", "pull", "toy", "out");
        assertThat(notRunName.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(notRunName.getErrorOutput()).contains("\"toy\" is not RUN/NAME; expected RUN/NAME (in the --store location)");

        LaunchResult badScheme = launcher.launch("checkpoints", "list", "--store", "gs://bucket/runs", "toy");
        assertThat(badScheme.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(badScheme.getErrorOutput()).contains("checkpoint location \"gs://bucket/runs\" is not supported; expected s3://BUCKET/PREFIX, file://PATH or a local path");
    }

    @Test
    void anEmptyRunSaysSoOnStderr(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "list", "--store", stored.toString(), "nothing-here");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).isEmpty();
        assertThat(result.getErrorOutput()).startsWith("No checkpoints for run nothing-here in ");
    }
}
