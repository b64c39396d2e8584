package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.data.DatasetFixtures;
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

import static org.assertj.core.api.Assertions.assertThat;

/** saeforge report on a tiny run of two SAEs trained by saeforge train, and the input it refuses. */
@QuarkusMainTest
class ReportCommandTest {
    @TempDir
    Path dir;

    Path run() throws IOException {
        DatasetFixtures.jsonl(dir.resolve("corpus.jsonl"), DatasetFixtures.documents("Report command", 40));
        return Files.writeString(dir.resolve("run.yaml"), """
                apiVersion: saeforge.dev/v1alpha1
                kind: TrainingRun
                metadata: {name: tiny}
                spec:
                  model: {name: tiny, uri: MODEL, dtype: float32}
                  dataset: {uri: CORPUS, contextSize: 16, storeBatchSizePrompts: 2, nBatchesInBuffer: 4}
                  saes:
                    - {name: resid1, hook: blocks.1.hook_resid_post, sae: {architecture: topk, dSae: 64, k: 8}}
                    - {name: mlp0, hook: blocks.0.hook_mlp_out, sae: {dSae: 32}}
                  training: {tokens: 2048, batchSizeTokens: 64, evalBatches: 1}
                  checkpoints: {count: 1, uri: STORE}
                """.replace("MODEL", dir.resolve("model").toString()).replace("CORPUS", dir.resolve("corpus.jsonl").toString())
                .replace("STORE", dir.resolve("runs").toString()));
    }

    @Test
    void theReportOfATrainedRunHasASectionPerSaeAndItsPathIsPrinted(QuarkusMainLauncher launcher) throws IOException {
        assertThat(launcher.launch("model", "init-tiny", dir.resolve("model").toString(), "--dtype", "f32").exitCode()).isZero();
        LaunchResult trained = launcher.launch("train", run().toString());
        assertThat(trained.exitCode()).as(trained.getErrorOutput()).isZero();
        Path out = dir.resolve("report");

        LaunchResult report = launcher.launch("report", "tiny", "--store", dir.resolve("runs").toString(), "--tokens", "1000",
                "--latents", "3", "--sample", "2", "--latent", "5", "--latent", "6", "-o", out.toString());

        assertThat(report.exitCode()).as(report.getErrorOutput()).isZero();
        assertThat(report.getOutput().strip().lines().toList().getLast()).as("the last line").isEqualTo(out.resolve("index.html").toString());
        assertThat(report.getErrorOutput()).contains("1.0k/1.0k tok", "tok/s", "ETA", "WARNING: the held-out data");
        assertThat(out.resolve("index.html")).isNotEmptyFile();
        JsonNode json = new ObjectMapper().readTree(out.resolve("report.json").toFile());
        assertThat(json.path("checkpoint").asText()).isEqualTo("final_2048");
        assertThat(json.path("tokens_trained").asLong()).isEqualTo(2048);
        List<String> names = new ArrayList<>();
        for (JsonNode sae : json.path("saes")) {
            names.add(sae.path("name").asText());
            assertThat(sae.has("curves")).isTrue();
            assertThat(sae.has("density_histogram")).isTrue();
            assertThat(sae.path("dead_latents").isInt()).isTrue();
            JsonNode latents = sae.path("latents");
            assertThat(latents.size()).isBetween(2, 7);
            assertThat(latents.get(0).path("index").asInt()).isEqualTo(5);
            JsonNode frequent = latents.get(2);
            assertThat(frequent.path("chosen_as").asText()).isEqualTo("frequent");
            assertThat(frequent.path("frequency").asDouble()).isPositive();
            JsonNode context = frequent.path("top_contexts").get(0);
            assertThat(context.path("tokens").get(0).isTextual()).isTrue();
            assertThat(context.path("activations").get(context.path("peak").asInt()).asDouble()).isPositive();
            assertThat(frequent.path("top_logits").path("positive").size()).isEqualTo(10);
            assertThat(frequent.path("top_logits").path("negative").get(0).get(0).isTextual()).isTrue();
        }
        assertThat(names).containsExactly("resid1", "mlp0");
    }

    @Test
    void badInputIsRefusedNamingWhatIsWrong(QuarkusMainLauncher launcher) throws IOException {
        assertThat(launcher.launch("model", "init-tiny", dir.resolve("model").toString(), "--dtype", "f32").exitCode()).isZero();
        assertThat(launcher.launch("train", run().toString()).exitCode()).isZero();
        String store = dir.resolve("runs").toString();
        String out = dir.resolve("out").toString();

        LaunchResult unknown = launcher.launch("report", "tiny/1024", "--store", store, "-o", out);
        LaunchResult latent = launcher.launch("report", "tiny", "--store", store, "--latent", "40", "-o", out);
        LaunchResult tokens = launcher.launch("report", "tiny", "--store", store, "--tokens", "0", "-o", out);
        LaunchResult file = launcher.launch("report", "tiny", "--store", store, "-o", run().toString());

        assertThat(unknown.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(unknown.getErrorOutput()).contains("has no checkpoint 1024; it has 1088, final_2048");
        assertThat(latent.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(latent.getErrorOutput()).contains("--latent 40 is past the latents of SAE mlp0 (d_sae 32: latents 0 to 31)");
        assertThat(tokens.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(tokens.getErrorOutput()).contains("--tokens is 0; expected at least 1");
        assertThat(file.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(file.getErrorOutput()).contains("-o " + run() + " is a file; expected a directory");
        assertThat(dir.resolve("out")).doesNotExist();
    }
}
