package dev.saeforge.telemetry;

import dev.saeforge.store.CheckpointRef;
import dev.saeforge.train.Metrics;
import dev.saeforge.train.Operation;
import dev.saeforge.train.Plan;
import dev.saeforge.train.Progress;
import dev.saeforge.train.Summary;
import dev.saeforge.train.TrainingListener;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.metrics.DoubleGauge;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongGauge;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A training run as OpenTelemetry sees it: one root span "saeforge train" (continuing the trace
 * that `saeforge submit` started, when TRACEPARENT carries it) with a child span per model load,
 * dataset open, checkpoint and evaluation; and metrics for throughput, losses, L0, explained
 * variance, dead features, step and checkpoint times. Every data point carries the run's
 * attributes, so dashboards can split by run, namespace and model; a per-SAE metric (loss, L0,
 * explained variance, dead features, learning rate, step time) also carries the SAE's name
 * ({@code saeforge.sae}) and hook, so the SAEs a run trains from one stream are told apart. The
 * run's throughput and tokens are the stream's, and carry no SAE.
 */
public final class TrainingTelemetry implements TrainingListener {
    public static final String INSTRUMENTATION = "dev.saeforge";
    public static final String ROOT_SPAN = "saeforge train";
    static final AttributeKey<String> LOSS = AttributeKey.stringKey("saeforge.loss");
    static final AttributeKey<String> SAE = AttributeKey.stringKey("saeforge.sae");
    static final AttributeKey<String> HOOK = AttributeKey.stringKey("saeforge.hook");

    private final Tracer tracer;
    private final Attributes runAttributes;
    private final Context parent;
    private final LongCounter tokens;
    private final DoubleGauge throughput;
    private final DoubleGauge loss;
    private final DoubleGauge l0;
    private final DoubleGauge explainedVariance;
    private final LongGauge deadFeatures;
    private final DoubleGauge learningRate;
    private final DoubleHistogram stepDuration;
    private final DoubleHistogram checkpointDuration;
    private final LongCounter checkpointBytes;
    /** The run's attributes with each SAE's name and hook, by SAE name. */
    private final Map<String, Attributes> saeAttributes = new HashMap<>();
    private Span root;
    private long tokensReported;

    /**
     * @param runAttributes saeforge.run, k8s.namespace.name, saeforge.model, saeforge.hook...
     * @param traceparent   a W3C traceparent to continue, e.g. from the TRACEPARENT variable
     */
    public TrainingTelemetry(OpenTelemetry openTelemetry, Attributes runAttributes, Optional<String> traceparent) {
        this.tracer = openTelemetry.getTracer(INSTRUMENTATION);
        this.runAttributes = runAttributes;
        this.parent = traceparent.map(TrainingTelemetry::continueTrace).orElse(Context.root());
        Meter meter = openTelemetry.getMeter(INSTRUMENTATION);
        tokens = meter.counterBuilder("saeforge.train.tokens").setUnit("{token}")
                .setDescription("Activation rows trained on").build();
        throughput = meter.gaugeBuilder("saeforge.train.throughput").setUnit("{token}/s")
                .setDescription("Activation rows trained per second").build();
        loss = meter.gaugeBuilder("saeforge.train.loss").setDescription("Training loss by component (saeforge.loss)").build();
        l0 = meter.gaugeBuilder("saeforge.train.l0").setDescription("Mean active latents per token").build();
        explainedVariance = meter.gaugeBuilder("saeforge.train.explained_variance")
                .setDescription("1 - E|x - x^|^2 / Var x on the latest batch").build();
        deadFeatures = meter.gaugeBuilder("saeforge.train.dead_features").ofLongs()
                .setDescription("Latents that have not fired within the dead-feature window").build();
        learningRate = meter.gaugeBuilder("saeforge.train.learning_rate").setDescription("Scheduled learning rate").build();
        stepDuration = meter.histogramBuilder("saeforge.sae.step.duration").setUnit("s")
                .setDescription("SAE training step: forward, backward, clip, Adam").build();
        checkpointDuration = meter.histogramBuilder("saeforge.checkpoint.duration").setUnit("s")
                .setDescription("Writing and publishing one checkpoint").build();
        checkpointBytes = meter.counterBuilder("saeforge.checkpoint.size").setUnit("By")
                .setDescription("Bytes published in checkpoints").build();
    }

    private static Context continueTrace(String traceparent) {
        return W3CTraceContextPropagator.getInstance().extract(Context.root(), Map.of("traceparent", traceparent), new TextMapGetter<>() {
            @Override
            public Iterable<String> keys(Map<String, String> carrier) {
                return carrier.keySet();
            }

            @Override
            public String get(Map<String, String> carrier, String key) {
                return carrier == null ? null : carrier.get(key);
            }
        });
    }

    @Override
    public void started(Plan plan) {
        SpanBuilder span = tracer.spanBuilder(ROOT_SPAN).setParent(parent).setAllAttributes(runAttributes)
                .setAttribute("saeforge.source", plan.source())
                .setAttribute("saeforge.device", plan.device())
                .setAttribute("saeforge.tokens", plan.totalTokens())
                .setAttribute("saeforge.start_step", plan.startStep())
                .setAttribute("saeforge.resumed_from", plan.resumedFrom().orElse(""))
                .setAttribute("saeforge.sae_count", plan.saes().size())
                .setAttribute(AttributeKey.stringArrayKey("saeforge.saes"), plan.saes().stream().map(Plan.SaePlan::name).toList());
        if (plan.saes().size() == 1) { // a run of several SAEs has no one width; each SAE's cfg.json has its own
            span.setAttribute("saeforge.d_in", plan.saes().get(0).dIn()).setAttribute("saeforge.d_sae", plan.saes().get(0).dSae());
        }
        root = span.startSpan();
    }

    @Override
    public void progress(Progress progress) {
        tokens.add(progress.tokens() - tokensReported, runAttributes);
        tokensReported = progress.tokens();
        throughput.set(progress.tokensPerSecond(), runAttributes);
        for (Metrics m : progress.saes()) {
            Attributes sae = saeAttributes.computeIfAbsent(m.sae(), name -> {
                AttributesBuilder builder = runAttributes.toBuilder().put(SAE, name);
                if (m.hook() != null) {
                    builder.put(HOOK, m.hook());
                }
                return builder.build();
            });
            loss.set(m.overallLoss(), with(sae, "overall"));
            loss.set(m.mseLoss(), with(sae, "mse"));
            // Named for every architecture: the sparsity penalty (JumpReLU's L0, the standard SAE's Lp) and the
            // auxiliary loss (JumpReLU's pre-activation loss, the TopK family's AuxK and Matryoshka levels).
            loss.set(m.sparsityLoss(), with(sae, "sparsity"));
            loss.set(m.auxiliaryLoss(), with(sae, "auxiliary"));
            l0.set(m.l0(), sae);
            explainedVariance.set(m.explainedVariance(), sae);
            deadFeatures.set(m.deadFeatures(), sae);
            learningRate.set(m.learningRate(), sae);
            stepDuration.record(m.stepSeconds(), sae);
        }
    }

    @Override
    public void checkpointed(CheckpointRef checkpoint) {
        checkpointBytes.add(checkpoint.bytes(), runAttributes);
    }

    @Override
    public void timed(Operation operation) {
        if (operation.name().equals("checkpoint")) {
            checkpointDuration.record(operation.duration().toNanos() / 1e9, runAttributes);
        }
        Span span = tracer.spanBuilder(operation.name()).setParent(root == null ? parent : Context.root().with(root))
                .setStartTimestamp(operation.start()).setAllAttributes(runAttributes).startSpan();
        operation.attributes().forEach((key, value) -> {
            String name = "saeforge." + key;
            if (value instanceof Integer || value instanceof Long) {
                span.setAttribute(name, ((Number) value).longValue());
            } else if (value instanceof Number number) {
                span.setAttribute(name, number.doubleValue());
            } else if (value instanceof Boolean flag) {
                span.setAttribute(name, flag);
            } else if (value != null) {
                span.setAttribute(name, value.toString());
            }
        });
        span.end(operation.end());
    }

    /** Ends the root span with how the run ended. */
    public void finished(Summary summary) {
        if (root != null) {
            root.setAttribute("saeforge.outcome", summary.outcome().name().toLowerCase());
            root.setAttribute("saeforge.steps", summary.steps());
            root.end();
        }
    }

    /** Ends the root span as failed. */
    public void failed(Throwable error) {
        if (root != null) {
            root.recordException(error);
            root.setStatus(StatusCode.ERROR, String.valueOf(error.getMessage()));
            root.end();
        }
    }

    /** The trace this run's spans belong to: the submit's when continued, else a new one. */
    public Optional<String> traceId() {
        Span span = root != null ? root : Span.fromContext(parent);
        return span.getSpanContext().isValid() ? Optional.of(span.getSpanContext().getTraceId()) : Optional.empty();
    }

    /** An SAE's attributes with the loss component {@code component}. */
    private static Attributes with(Attributes sae, String component) {
        return sae.toBuilder().put(LOSS, component).build();
    }

    /** The attributes every span and data point of a run carries; {@code hook} is a single-SAE run's (null for several). */
    public static Attributes runAttributes(String run, String namespace, String model, String hook) {
        AttributesBuilder builder = Attributes.builder().put("saeforge.run", run);
        if (namespace != null) {
            builder.put("k8s.namespace.name", namespace);
        }
        if (model != null) {
            builder.put("saeforge.model", model);
        }
        if (hook != null) {
            builder.put(HOOK, hook);
        }
        return builder.build();
    }
}
