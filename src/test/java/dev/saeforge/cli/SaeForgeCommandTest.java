package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line as a user meets it: output, error messages and exit codes. */
@QuarkusMainTest
class SaeForgeCommandTest {
    static final Path INVALID_SPECS = Path.of("src/test/resources/invalid-specs");

    @Test
    void helpListsTheCommandsAndExitCodes(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("--help");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).contains("Usage: saeforge", "validate", "example", "model", "activations", "bench", "Exit codes:");
    }

    @Test
    void versionNamesTheApi(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("--version");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).startsWith("saeforge ").contains("saeforge.dev/v1alpha1");
    }

    @Test
    void validateAcceptsEveryExample(QuarkusMainLauncher launcher) throws IOException {
        List<String> args = new ArrayList<>(List.of("validate"));
        args.addAll(files(Path.of("examples")));

        LaunchResult result = launcher.launch(args.toArray(String[]::new));

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).contains(
                "examples/qwen3-8b-layer28.yaml: TrainingRun qwen3-8b-layer28-mlp is valid",
                "examples/tiny-qwen3.yaml: TrainingRun tiny-qwen3 is valid",
                "examples/toy-superposition.yaml: TrainingRun toy-superposition is valid");
    }

    @Test
    void validateWithOutputPrintsTheNormalisedRun(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult result = launcher.launch("validate", "-o", "yaml", "examples/toy-superposition.yaml");

        assertThat(result.exitCode()).isZero();
        TrainingRun printed = TrainingRuns.parse(result.getOutput(), "stdout").get(0);
        assertThat(printed.getSpec().training.lrEnd).isEqualTo(3e-4);
        assertThat(TrainingRuns.toYaml(printed)).isEqualTo(result.getOutput() + "\n");

        LaunchResult json = launcher.launch("validate", "-o", "json", "examples/toy-superposition.yaml");
        assertThat(json.exitCode()).isZero();
        assertThat(TrainingRuns.parse(json.getOutput(), "stdout").get(0).getMetadata().getName()).isEqualTo("toy-superposition");
    }

    @Test
    void validatePrintsTheGpuMemoryEstimateOfARunOnAGpu(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("validate", "examples/qwen3-8b-layer28.yaml");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).startsWith("examples/qwen3-8b-layer28.yaml: TrainingRun qwen3-8b-layer28-mlp is valid\n")
                .contains("GPU MEMORY (ESTIMATE)", "Qwen/Qwen3-8B in bfloat16, blocks 0-28", "total")
                .containsPattern("GiB at peak \\((training|evaluating)\\): fits an NVIDIA-A100-SXM4-80GB \\(80\\.0GiB\\)");
    }

    @Test
    void validateSizesTheCheckpointTensorsOfAQwen3EightBSaeOf131072LatentsAndAcceptsIt(@TempDir Path dir, QuarkusMainLauncher launcher)
            throws Exception {
        Path run = dir.resolve("wide.yaml");
        Files.writeString(run, Files.readString(Path.of("examples/qwen3-8b-layer28.yaml")).replace("dSae: 16384", "dSae: 131072"));

        LaunchResult result = launcher.launch("validate", run.toString());

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).contains(run + ": TrainingRun qwen3-8b-layer28-mlp is valid",
                "checkpoint of SAE qwen3-8b-layer28-mlp: 16 tensors, the largest W_enc [4096, 131072] float32, 2.0GiB");
    }

    @Test
    void validateWithOutputCarriesTheEstimateAsAnAnnotation(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult json = launcher.launch("validate", "-o", "json", "examples/qwen3-8b-layer28-sweep.yaml");

        assertThat(json.exitCode()).isZero();
        JsonNode printed = new ObjectMapper().readTree(json.getOutput());
        JsonNode estimate = new ObjectMapper().readTree(printed.path("metadata").path("annotations").path(MemoryCheck.ANNOTATION).asText());
        assertThat(estimate.path("check").asText()).isEqualTo("fits");
        assertThat(estimate.path("peakBytes").asLong()).isPositive();
        assertThat(estimate.path("parts")).extracting(part -> part.path("what").asText())
                .anySatisfy(what -> assertThat(what).startsWith("SAE mlp-out-l0coefficient-3, 4096 x 16384"));
        assertThat(TrainingRuns.toJson(TrainingRuns.parse(json.getOutput(), "stdout").get(0)))
                .as("the printed run reads back as it is").isEqualTo(json.getOutput());
    }

    @Test
    void validateRefusesARunLargerThanItsGpuWithExitTwoNamingTheField(@TempDir Path dir, QuarkusMainLauncher launcher) throws Exception {
        Path run = dir.resolve("wide.yaml");
        Files.writeString(run, Files.readString(Path.of("examples/qwen3-8b-layer28.yaml")).replace("dSae: 16384", "dSae: 1048576"));

        LaunchResult result = launcher.launch("validate", run.toString());

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.getOutput()).doesNotContain("is valid").contains("GPU MEMORY (ESTIMATE)");
        assertThat(result.getErrorOutput()).startsWith(run + ": spec.resources.gpuProduct: the run needs an estimated ")
                .contains("more than the 80.0GiB of an NVIDIA-A100-SXM4-80GB");
    }

    @Test
    void validateRefusesEachInvalidSpecWithExitTwoAndItsMessages(QuarkusMainLauncher launcher) throws IOException {
        for (String file : files(INVALID_SPECS)) {
            List<String> expected = Files.readAllLines(Path.of(file)).stream()
                    .filter(line -> line.startsWith("# expect: "))
                    .map(line -> file + ": " + line.substring("# expect: ".length()))
                    .toList();

            LaunchResult result = launcher.launch("validate", file);

            assertThat(result.exitCode()).as(file).isEqualTo(ExitCodes.INVALID_INPUT);
            assertThat(result.getOutput()).as(file + " stdout").isEmpty();
            assertThat(result.getErrorStream()).as(file).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void validateReportsEveryFileAndFailsIfAnyIsInvalid(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("validate", "examples/toy-superposition.yaml",
                INVALID_SPECS.resolve("bad-hook.yaml").toString(), "missing.yaml");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.getOutput()).contains("toy-superposition is valid");
        assertThat(result.getErrorOutput()).contains("bad-hook.yaml: spec.hook:", "missing.yaml: no such file");
    }

    @Test
    void exampleListsAndPrintsTheShippedRuns(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult list = launcher.launch("example");
        assertThat(list.exitCode()).isZero();
        assertThat(list.getOutput()).startsWith("NAME").contains("seed", "sweep", "tiny", "toy");

        for (String[] example : new String[][]{{"seed", "qwen3-8b-layer28.yaml"}, {"sweep", "qwen3-8b-layer28-sweep.yaml"}, {"tiny", "tiny-qwen3.yaml"},
                {"toy", "toy-superposition.yaml"}}) {
            LaunchResult result = launcher.launch("example", example[0]);
            assertThat(result.exitCode()).isZero();
            assertThat(result.getOutput() + "\n").isEqualTo(Files.readString(Path.of("examples", example[1])));
        }
    }

    @Test
    void anUnknownExampleIsRefused(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("example", "gpt2");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.getErrorOutput()).isEqualTo("example \"gpt2\" does not exist; expected one of seed, sweep, tiny, toy");
    }

    @Test
    void anUnknownOptionIsAUsageError(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("validate", "--outptu", "yaml", "examples/toy-superposition.yaml");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.getErrorOutput()).contains("Unknown option: '--outptu'");
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(Path::toString).filter(p -> p.endsWith(".yaml")).sorted().toList();
        }
    }
}
