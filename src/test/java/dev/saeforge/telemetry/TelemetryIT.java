package dev.saeforge.telemetry;

import dev.saeforge.api.CheckpointSpec;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.operator.ApiServer;
import io.opentelemetry.proto.trace.v1.Span;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The trace a researcher follows: `saeforge submit` starts it and records it on the TrainingRun;
 * the Job's `saeforge train --run` (given TRACEPARENT, as the operator's Job gives it) continues it
 * and sends real spans and metrics over OTLP/HTTP, while writing progress to the run's status.
 */
class TelemetryIT {
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: observed}
            spec:
              synthetic: {features: 16, dIn: 8}
              sae: {dSae: 24}
              training: {tokens: 51200, batchSizeTokens: 256}
              checkpoints: {count: 1, uri: store, volume: {claimName: checkpoints}}
              resources: {gpus: 0}
            """;

    @TempDir
    Path dir;

    record Run(int exitCode, String stdout, String stderr) {
    }

    @Test
    void submitAndTheTrainerShareOneTraceAndTheTrainerExportsSpansMetricsAndStatus() throws Exception {
        try (ApiServer api = ApiServer.start(); OtlpReceiver collector = new OtlpReceiver()) {
            Path kubeconfig = api.writeKubeconfig(dir.resolve("kubeconfig"), "research");
            Path spec = dir.resolve("observed.yaml");
            Files.writeString(spec, RUN);

            Run submitted = saeforge(kubeconfig, Map.of(), "submit", spec.toString());
            assertThat(submitted.exitCode()).as(submitted.stderr()).isZero();
            TrainingRun stored = api.client.resources(TrainingRun.class).inNamespace("research").withName("observed").get();
            String traceparent = stored.getMetadata().getAnnotations().get(TrainingRun.TRACEPARENT_ANNOTATION);
            assertThat(traceparent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]");

            Run trained = saeforge(kubeconfig, Map.of(
                            // As in a Job, where the claim is mounted there.
                            CheckpointSpec.MOUNT_VARIABLE, dir.toString(),
                            "TRACEPARENT", traceparent,
                            "OTEL_SDK_DISABLED", "false",
                            "OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint(),
                            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
                            "OTEL_METRIC_EXPORT_INTERVAL", "200",
                            "OTEL_RESOURCE_ATTRIBUTES", "saeforge.run=research/observed"),
                    "train", "--run", "research/observed", "--report-interval", "1s");
            assertThat(trained.exitCode()).as(trained.stderr()).isEqualTo(ExitCodes.OK);

            String traceId = traceparent.split("-")[1];
            List<Span> spans = collector.spans();
            Span root = spans.stream().filter(s -> s.getName().equals(TrainingTelemetry.ROOT_SPAN)).findFirst().orElseThrow();
            assertThat(HexFormat.of().formatHex(root.getTraceId().toByteArray())).as("the submit's trace id").isEqualTo(traceId);
            assertThat(spans).filteredOn(s -> s.getParentSpanId().equals(root.getSpanId()))
                    .extracting(Span::getName).contains("checkpoint", "evaluation");
            assertThat(collector.metricNames()).contains("saeforge.train.tokens", "saeforge.train.loss",
                    "saeforge.train.explained_variance", "saeforge.sae.step.duration", "saeforge.checkpoint.duration");
            assertThat(collector.resourceAttributes()).anySatisfy(kv -> {
                assertThat(kv.getKey()).isEqualTo("saeforge.run");
                assertThat(kv.getValue().getStringValue()).isEqualTo("research/observed");
            });

            TrainingRun after = api.client.resources(TrainingRun.class).inNamespace("research").withName("observed").get();
            assertThat(after.getStatus().tokensTrained).isEqualTo(51200L);
            assertThat(after.getStatus().progress).isEqualTo("100.0%");
            assertThat(after.getStatus().lastCheckpoint).endsWith("/observed/final_51200");
            assertThat(after.getStatus().explainedVariance).isNotNull();
        }
    }

    private Run saeforge(Path kubeconfig, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("./saeforge"));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().put("KUBECONFIG", kubeconfig.toString());
        builder.environment().putAll(env);
        Process process = builder.start();
        assertThat(process.waitFor(180, TimeUnit.SECONDS)).isTrue();
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
