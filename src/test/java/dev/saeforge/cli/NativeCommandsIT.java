package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.TrainingRuns;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The native executable answers the commands that need no cluster, store or tensors exactly as
 * the JVM build does: help, version, validation (every field rule, through reflection on the
 * TrainingRun classes) and the example runs (resources in the binary).
 */
class NativeCommandsIT {
    @Test
    void helpListsEveryCommandAndTheExitCodes() throws Exception {
        NativeBinary.Run help = NativeBinary.run("--help");

        assertThat(help.exitCode()).as(help.stderr()).isZero();
        assertThat(help.stdout()).startsWith("Usage: saeforge ")
                .contains("validate", "example", "train", "checkpoints", "submit", "get", "operator", "bench")
                .contains("75   stopped after a checkpoint; run again to resume");
        assertThat(help.stderr()).isEmpty();
    }

    @Test
    void versionNamesTheNativeRuntime() throws Exception {
        NativeBinary.Run version = NativeBinary.run("--version");

        assertThat(version.exitCode()).isZero();
        assertThat(version.stdout()).startsWith("saeforge 0.1.0").contains("TrainingRun API saeforge.dev/v1alpha1");
    }

    @Test
    void aValidRunIsValidAndPrintsWithEveryDefaultAsTheJvmBuildPrintsIt() throws Exception {
        Path toy = Path.of("examples/toy-superposition.yaml");

        NativeBinary.Run valid = NativeBinary.run("validate", toy.toString());
        NativeBinary.Run yaml = NativeBinary.run("validate", "-o", "yaml", toy.toString());
        NativeBinary.Run json = NativeBinary.run("validate", "-o", "json", toy.toString());

        assertThat(valid.exitCode()).as(valid.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(valid.stdout()).isEqualTo(toy + ": TrainingRun toy-superposition is valid\n"
                + "  checkpoint of SAE toy-superposition: 16 tensors, the largest W_enc [32, 128] float32, 16.0KiB\n");
        assertThat(yaml.exitCode()).as(yaml.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(yaml.stdout().strip()).isEqualTo(TrainingRuns.toYaml(TrainingRuns.read(toy).get(0)).strip());
        assertThat(json.stdout().strip()).isEqualTo(TrainingRuns.toJson(TrainingRuns.read(toy).get(0)).strip());
    }

    static Stream<Path> invalidSpecs() throws IOException {
        return Files.list(Path.of("src/test/resources/invalid-specs")).filter(p -> p.toString().endsWith(".yaml")).sorted();
    }

    @ParameterizedTest
    @MethodSource("invalidSpecs")
    void everyInvalidSpecIsRefusedWithExitTwoAndExactlyTheJvmsMessages(Path file) throws Exception {
        List<String> expected = Files.readAllLines(file).stream()
                .filter(line -> line.startsWith("# expect: ")).map(line -> line.substring("# expect: ".length())).toList();
        InvalidSpecException onTheJvm = catchThrowableOfType(InvalidSpecException.class, () -> TrainingRuns.read(file));
        StringWriter printedOnTheJvm = new StringWriter();
        try (PrintWriter err = new PrintWriter(printedOnTheJvm)) {
            Printing.problems(err, onTheJvm);
        }

        NativeBinary.Run invalid = NativeBinary.run("validate", file.toString());

        assertThat(invalid.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(invalid.stdout()).isEmpty();
        assertThat(invalid.stderr()).isEqualTo(printedOnTheJvm.toString()).contains(expected);
    }

    @Test
    void examplesComeFromTheBinaryItself() throws Exception {
        for (String name : List.of("toy", "tiny", "seed")) {
            NativeBinary.Run example = NativeBinary.run(java.util.Map.of(), Files.createTempDirectory("elsewhere"), "example", name);
            assertThat(example.exitCode()).as(example.stderr()).isZero();
            assertThat(example.stdout()).contains("kind: TrainingRun");
        }
        NativeBinary.Run toy = NativeBinary.run("example", "toy");
        assertThat(toy.stdout()).isEqualTo(Files.readString(Path.of("examples/toy-superposition.yaml")));
    }

    /** bench startup, itself run natively, times both builds of --help and validate side by side. */
    @Test
    void benchStartupMeasuresTheJvmAndTheNativeExecutableSideBySide() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");

        NativeBinary.Run bench = NativeBinary.run("bench", "startup", "--runs", "2", "-o", "json",
                "--native", NativeBinary.path().toAbsolutePath().toString(), "--java", java.toString());

        assertThat(bench.exitCode()).as(bench.stderr()).isEqualTo(ExitCodes.OK);
        JsonNode result = new ObjectMapper().readTree(bench.stdout());
        assertThat(result.path("commands")).extracting(row -> row.path("command").asText()).containsExactly("--help", "validate");
        for (JsonNode row : result.path("commands")) {
            for (String figure : List.of("jvm_ms", "native_ms", "jvm_peak_rss_mib", "native_peak_rss_mib")) {
                assertThat(row.path(figure).asDouble()).as(row.path("command").asText() + " " + figure).isPositive();
            }
            assertThat(row.path("time_ratio").asDouble()).isEqualTo(row.path("jvm_ms").asDouble() / row.path("native_ms").asDouble(),
                    org.assertj.core.data.Offset.offset(1e-9));
        }
    }

    @Test
    void anUnknownCommandIsRefusedWithExitTwo() throws Exception {
        NativeBinary.Run unknown = NativeBinary.run("frobnicate");

        assertThat(unknown.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(unknown.stderr()).contains("Unmatched argument at index 0: 'frobnicate'");
    }
}
