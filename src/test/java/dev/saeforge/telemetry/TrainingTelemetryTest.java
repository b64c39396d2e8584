package dev.saeforge.telemetry;

import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.train.Metrics;
import dev.saeforge.train.Plan;
import dev.saeforge.train.Progress;
import dev.saeforge.train.Summary;
import dev.saeforge.train.Training;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.data.PointData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/** A run's spans and metrics, captured in memory. */
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

    final InMemorySpanExporter spans = InMemorySpanExporter.create();
    final InMemoryMetricReader metrics = InMemoryMetricReader.create();
    final OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
            .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(metrics).build())
            .build();

    @AfterEach
    void closeSdk() {
        sdk.close();
    }

    SpanData rootSpan() {
        return spans.getFinishedSpanItems().stream().filter(s -> s.getName().equals(TrainingTelemetry.ROOT_SPAN)).findFirst().orElseThrow();
    }

    static MetricData metric(Collection<MetricData> data, String name) {
        return data.stream().filter(m -> m.getName().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aRunIsOneRootSpanWithASpanPerCheckpointAndEvaluationAndReportsItsMetrics() throws Exception {
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            TrainingRun run = TrainingRuns.parse(RUN, "traced").get(0);
            TrainingTelemetry telemetry = new TrainingTelemetry(sdk,
                    TrainingTelemetry.runAttributes("traced", "research", null, null), Optional.of(TRACEPARENT));

            Summary summary = Training.run(RunIdentity.of(run), run.getSpec(), store, Training.Options.defaults(), telemetry);
            telemetry.finished(summary);

            List<SpanData> finished = spans.getFinishedSpanItems();
            SpanData rootSpan = rootSpan();
            assertThat(rootSpan.getTraceId()).as("continues the submit's trace").isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
            assertThat(rootSpan.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
            assertThat(rootSpan.getAttributes().get(AttributeKey.stringKey("saeforge.run"))).isEqualTo("traced");
            assertThat(rootSpan.getAttributes().get(AttributeKey.stringKey("k8s.namespace.name"))).isEqualTo("research");
            assertThat(rootSpan.getAttributes().get(AttributeKey.stringKey("saeforge.outcome"))).isEqualTo("completed");
            assertThat(rootSpan.getAttributes().get(AttributeKey.stringArrayKey("saeforge.saes"))).containsExactly("traced");
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
            assertThat(metric(data, "saeforge.train.tokens").getLongSumData().getPoints()).singleElement().satisfies(point -> {
                assertThat(point.getValue()).isEqualTo(25600);
                assertThat(point.getAttributes().get(AttributeKey.stringKey("saeforge.run"))).isEqualTo("traced");
            });
            assertThat(metric(data, "saeforge.train.l0").getDoubleGaugeData().getPoints()).singleElement()
                    .satisfies(point -> assertThat(point.getAttributes().get(TrainingTelemetry.SAE)).isEqualTo("traced"));
        }
    }

    @Test
    void eachSaesMetricsCarryItsNameAndHookAndTheStreamsFiguresNone() {
        TrainingTelemetry telemetry = new TrainingTelemetry(sdk, TrainingTelemetry.runAttributes("three", "research", "Qwen/Qwen3-8B", null),
                Optional.empty());

        telemetry.started(new Plan("three", "hf://Qwen/Qwen3-8B", "cuda:0", 1000, 4_096_000, 4096, Optional.empty(), 0, List.of(
                new Plan.SaePlan("mlp28-c1", "blocks.28.hook_mlp_out", 4096, 16384),
                new Plan.SaePlan("resid20", "blocks.20.hook_resid_post", 4096, 32768))));
        telemetry.progress(new Progress(10, 40_960, 1000, 4_096_000, 12_000, 300, List.of(
                metrics("mlp28-c1", "blocks.28.hook_mlp_out", 61.25), metrics("resid20", "blocks.20.hook_resid_post", 18.5))));
        telemetry.progress(new Progress(20, 81_920, 1000, 4_096_000, 12_500, 290, List.of(
                metrics("mlp28-c1", "blocks.28.hook_mlp_out", 60.0), metrics("resid20", "blocks.20.hook_resid_post", 18.0))));
        telemetry.finished(new Summary("three", Summary.Outcome.STOPPED, 20, 81_920, 12_500, 7, null, List.of()));

        Attributes rootAttributes = rootSpan().getAttributes();
        assertThat(rootAttributes.get(AttributeKey.stringArrayKey("saeforge.saes"))).containsExactly("mlp28-c1", "resid20");
        assertThat(rootAttributes.get(AttributeKey.longKey("saeforge.sae_count"))).isEqualTo(2);
        Collection<MetricData> data = metrics.collectAllMetrics();
        assertThat(metric(data, "saeforge.train.l0").getDoubleGaugeData().getPoints())
                .extracting(p -> p.getAttributes().get(TrainingTelemetry.SAE), p -> p.getAttributes().get(TrainingTelemetry.HOOK), p -> p.getValue())
                .containsExactlyInAnyOrder(tuple("mlp28-c1", "blocks.28.hook_mlp_out", 60.0),
                        tuple("resid20", "blocks.20.hook_resid_post", 18.0));
        for (String perSae : List.of("saeforge.train.loss", "saeforge.train.explained_variance", "saeforge.train.dead_features",
                "saeforge.train.learning_rate", "saeforge.sae.step.duration")) {
            assertThat(metric(data, perSae).getData().getPoints()).as(perSae).isNotEmpty()
                    .allSatisfy(point -> assertThat(point.getAttributes().get(TrainingTelemetry.SAE)).isIn("mlp28-c1", "resid20"));
        }
        assertThat(metric(data, "saeforge.train.loss").getData().getPoints()).as("four components of two SAEs").hasSize(8);
        for (String perRun : List.of("saeforge.train.tokens", "saeforge.train.throughput")) {
            assertThat(metric(data, perRun).getData().getPoints()).as(perRun).singleElement()
                    .extracting(PointData::getAttributes).satisfies(a -> assertThat(a.get(TrainingTelemetry.SAE)).isNull());
        }
        assertThat(metric(data, "saeforge.train.tokens").getLongSumData().getPoints()).singleElement()
                .satisfies(point -> assertThat(point.getValue()).as("the stream's tokens, once").isEqualTo(81_920));
    }

    static Metrics metrics(String sae, String hook, double l0) {
        return new Metrics(sae, hook, 10, 40_960, 0.5, 0.4, 0.1, 0, 0.8, l0, 3, 7e-5, 1.0, 0.02);
    }
}
