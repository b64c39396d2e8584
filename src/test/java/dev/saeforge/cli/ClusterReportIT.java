package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.operator.ApiServer;
import dev.saeforge.store.S3MockServer;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What an operator's Job does at the end of a run whose spec.report asks for a report: the Job's
 * `saeforge train --run` writes the final checkpoint's report beside it in the S3 store, under the
 * namespace's location, and prints its address.
 */
class ClusterReportIT {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("checkpoints");

    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: reported, namespace: research}
            spec:
              model: {name: saeforge/tiny-qwen3, uri: tiny://qwen3, dtype: float32}
              hook: blocks.1.hook_mlp_out
              dataset: {uri: tiny://corpus, contextSize: 32, storeBatchSizePrompts: 4, nBatchesInBuffer: 4}
              sae: {dSae: 64}
              training: {tokens: 4096, batchSizeTokens: 256, evalBatches: 1}
              checkpoints: {count: 1, uri: s3://checkpoints/team/runs}
              report: {enabled: true, tokens: 2000, latents: 3, sample: 2}
              resources: {gpus: 0}
            """;

    @TempDir
    Path dir;

    record Run(int exitCode, String stdout, String stderr) {
    }

    @Test
    void aJobWritesTheReportSpecReportAsksForBesideTheFinalCheckpointInTheStore() throws Exception {
        try (ApiServer api = ApiServer.start()) {
            Path kubeconfig = api.writeKubeconfig(dir.resolve("kubeconfig"), "research");
            Path spec = Files.writeString(dir.resolve("reported.yaml"), RUN);
            assertThat(saeforge(kubeconfig, "submit", spec.toString()).exitCode()).isZero();

            Run trained = saeforge(kubeconfig, "train", "--run", "research/reported");

            assertThat(trained.exitCode()).as(trained.stderr()).isEqualTo(ExitCodes.OK);
            String prefix = "team/runs/research/reported/final_4096/report/";
            assertThat(trained.stdout().strip().lines().toList().getLast())
                    .isEqualTo("report: s3://checkpoints/" + prefix + "index.html");
            MinioClient s3 = MinioClient.builder().endpoint(S3.endpoint()).credentials("k", "s").region("us-east-1").build();
            try (InputStream page = s3.getObject(GetObjectArgs.builder().bucket(S3.bucket()).object(prefix + "index.html").build());
                 InputStream json = s3.getObject(GetObjectArgs.builder().bucket(S3.bucket()).object(prefix + "report.json").build())) {
                assertThat(new String(page.readAllBytes(), StandardCharsets.UTF_8)).startsWith("<!doctype html>");
                JsonNode report = new ObjectMapper().readTree(json);
                assertThat(report.path("held_out").path("tokens").asLong()).isEqualTo(2000);
                assertThat(report.path("saes").path(0).path("latents").size()).isEqualTo(5);
            }
        }
    }

    private Run saeforge(Path kubeconfig, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("./saeforge"));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("AWS_"));
        builder.environment().putAll(S3.env());
        builder.environment().putAll(Map.of("KUBECONFIG", kubeconfig.toString(), "SAEFORGE_CACHE", dir.resolve("cache").toString()));
        Process process = builder.start();
        assertThat(process.waitFor(300, TimeUnit.SECONDS)).as("saeforge finished").isTrue();
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
