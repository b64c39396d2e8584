package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.store.SaeLensCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every SAE architecture recovers the toy model of superposition as the examples train it,
 * through the launcher: at least 58 of its 64 ground-truth directions with explained variance
 * 0.9 or more, and a final SAE SAELens' SAE.load_from_disk reads. JumpReLU trained toward a
 * target L0 ends within 15% of it, below and above the toy's natural L0 of about 3.2.
 */
class ArchitecturesIT {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "toy-superposition.yaml,                      toy-superposition/final_3072000,                      jumprelu",
            "toy-superposition-topk.yaml,                 toy-superposition-topk/final_3072000,                 topk",
            "toy-superposition-batchtopk.yaml,            toy-superposition-batchtopk/final_3072000,            jumprelu",
            "toy-superposition-matryoshka_batchtopk.yaml, toy-superposition-matryoshka-batchtopk/final_6144000, jumprelu",
            "toy-superposition-standard.yaml,             toy-superposition-standard/final_3072000,             standard"})
    void theToyExampleRecoversTheGroundTruth(String example, String finalCheckpoint, String savedAs) throws Exception {
        JsonNode summary = train(example);

        assertThat(summary.path("ground_truth_recovered").asInt()).as("directions recovered of 64").isGreaterThanOrEqualTo(58);
        assertThat(summary.path("explained_variance").asDouble()).isGreaterThanOrEqualTo(0.9);
        Path last = dir.resolve("runs/" + finalCheckpoint);
        assertThat(SaeLensCheckpoint.problems(last)).isEmpty();
        assertThat(new ObjectMapper().readTree(last.resolve(SaeLensCheckpoint.CONFIG).toFile()).path("architecture").asText())
                .isEqualTo(savedAs);
    }

    @Test
    void jumpReluTrainedTowardATargetL0EndsWithin15PercentOfIt() throws Exception {
        JsonNode summary = train("toy-superposition-target-l0.yaml");

        assertThat(summary.path("saes")).hasSize(2);
        for (JsonNode sae : summary.path("saes")) {
            double target = sae.path("name").asText().endsWith("-1.5") ? 1.5 : 6;
            assertThat(sae.path("l0").asDouble()).as(sae.path("name").asText()).isBetween(0.85 * target, 1.15 * target);
        }
    }

    private JsonNode train(String example) throws Exception {
        Path spec = dir.resolve(example);
        Files.writeString(spec, Files.readString(Path.of("examples", example)).replace("uri: runs", "uri: " + dir.resolve("runs")));
        Path summary = dir.resolve(example + ".summary.json");
        Path err = dir.resolve(example + ".err");
        Process process = new ProcessBuilder("./saeforge", "train", spec.toString(), "--summary", summary.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        assertThat(process.waitFor(600, TimeUnit.SECONDS)).as("saeforge finished").isTrue();
        assertThat(process.exitValue()).as(Files.readString(err, StandardCharsets.UTF_8)).isEqualTo(ExitCodes.OK);
        return new ObjectMapper().readTree(summary.toFile());
    }
}
