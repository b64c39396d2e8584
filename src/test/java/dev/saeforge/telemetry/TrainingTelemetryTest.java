package dev.saeforge.telemetry;

import dev.saeforge.train.Summary;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.train.Training;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** A local run's spans and metrics, captured in memory. */
class TrainingTelemetryTest {
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: traced}
            spec:
              synthetic: {features: 16, dIn: 8}
              sae: {dSae: 24}
              training: {tokens: 25600, batchSizeTokens: 256}
              checkpoints: {count: 2}
            """;
    static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @TempDir
    Path root;

    @Test
    void aRunIsOneRootSpanWithASpanPerCheckpointAndEvaluationAndReportsItsMetrics() throws Exception {
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        InMemoryMetricReader metrics = InMemoryMetricReader.create();
        try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(metrics).build())
                .build();
             CheckpointStore store = CheckpointStore.open(root.toString())) {
            TrainingRun run = TrainingRuns.parse(RUN, "traced").get(0);
            TrainingTelemetry telemetry = new TrainingTelemetry(sdk,
                    TrainingTelemetry.runAttributes("traced", "research", null, null), Optional.of(TRACEPARENT));

            Summary summary = Training.run(run, store, Training.Options.defaults(), telemetry);
            telemetry.finished(summary);

            List<SpanData> finished = spans.getFinishedSpanItems();
            SpanData rootSpan = finished.stream().filter(s -> s.getName().equals(TrainingTelemetry.ROOT_SPAN)).findFirst().orElseThrow();
            assertThat(rootSpan.getTraceId()).as("continues the submit's trace").isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
            assertThat(rootSpan.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
            assertThat(rootSpan.getAttributes().get(AttributeKey.stringKey("saeforge.run"))).isEqualTo("traced");
            assertThat(rootSpan.getAttributes().get(AttributeKey.stringKey("k8s.namespace.name"))).isEqualTo("research");
            assertThat(rootSpan.getAttributes().get(AttributeKey.stringKey("saeforge.outcome"))).isEqualTo("completed");
            List<SpanData> children = finished.stream().filter(s -> s.getParentSpanId().equals(rootSpan.getSpanId())).toList();
            assertThat(children).extracting(SpanData::getName)
                    .containsExactly("checkpoint", "checkpoint", "evaluation", "checkpoint");
            SpanData last = children.get(3);
            assertThat(last.getAttributes().get(AttributeKey.stringKey("saeforge.checkpoint"))).isEqualTo("final_25600");
            assertThat(last.getAttributes().get(AttributeKey.longKey("saeforge.bytes"))).isPositive();
            assertThat(children.get(2).getAttributes().get(AttributeKey.doubleKey("saeforge.explained_variance"))).isNotNull();

            Collection<MetricData> data = metrics.collectAllMetrics();
            assertThat(data).extracting(MetricData::getName).contains(
                    "saeforge.train.tokens", "saeforge.train.throughput", "saeforge.train.loss", "saeforge.train.l0",
                    "saeforge.train.explained_variance", "saeforge.train.dead_features", "saeforge.train.learning_rate",
                    "saeforge.sae.step.duration", "saeforge.checkpoint.duration", "saeforge.checkpoint.size");
            MetricData tokens = data.stream().filter(m -> m.getName().equals("saeforge.train.tokens")).findFirst().orElseThrow();
            assertThat(tokens.getLongSumData().getPoints()).singleElement().satisfies(point -> {
                assertThat(point.getValue()).isEqualTo(25600);
                assertThat(point.getAttributes().get(AttributeKey.stringKey("saeforge.run"))).isEqualTo("traced");
            });
        }
    }
}
