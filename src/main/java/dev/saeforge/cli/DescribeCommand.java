package dev.saeforge.cli;

import dev.saeforge.api.CacheStatus;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.operator.Durations;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/** kubectl describe for a TrainingRun: what it trains, where it stands, why, and what happened. */
@Command(name = "describe", description = "Show a run: spec summary, status and progress, conditions, checkpoints and events.")
public class DescribeCommand extends ClusterCommand {
    @Parameters(paramLabel = "NAME", description = "The run.")
    String name;

    @Override
    public Integer call() {
        PrintWriter out = out();
        String ns = namespace();
        TrainingRun run = run(ns, name);
        if (run == null) {
            return ExitCodes.FAILURE;
        }
        Instant now = Instant.now();
        TrainingRunSpec spec = run.getSpec();
        TrainingRunStatus status = run.getStatus() == null ? new TrainingRunStatus() : run.getStatus();

        field(out, "Name", name);
        field(out, "Namespace", ns);
        field(out, "Created", when(run.getMetadata().getCreationTimestamp(), now));
        List<SaeDefinition> saes = RunTable.saes(run);
        SaeDefinition only = saes.size() == 1 ? saes.get(0) : null;
        if (spec.synthetic != null) {
            field(out, "Synthetic", spec.synthetic.features + " features in " + spec.synthetic.dIn + " dimensions, firing probability "
                    + spec.synthetic.firingProbability);
        } else {
            field(out, "Model", spec.model.name + " from " + spec.model.uri + " ("
                    + (spec.model.dtype == null ? "the checkpoint's torch_dtype" : text(spec.model.dtype)) + ")");
            if (only != null) {
                field(out, "Hook", only.hook());
            }
            field(out, "Dataset", spec.dataset.uri + " (field " + spec.dataset.textField + ", context " + spec.dataset.contextSize + " tokens)");
        }
        if (only != null) {
            SaeSpec sae = only.sae();
            field(out, "SAE", text(sae.architecture) + ", d_in " + orDash(sae.dIn) + ", d_sae "
                    + (sae.dSae != null ? sae.dSae : sae.expansionFactor + " x d_in") + ", " + only.sparsityField() + " " + only.describe().get(only.sparsityField()));
        } else {
            // Several SAEs: a row each, with where each stands (the run-level metrics are a single SAE's).
            field(out, "SAEs", saes.isEmpty() ? "<none valid>" : Integer.toString(saes.size()));
            if (!saes.isEmpty()) {
                Columns.print(out, RunTable.saeRows(run), 2, "  ");
            }
        }
        field(out, "Training", spec.training.tokens + " tokens, batch " + spec.training.batchSizeTokens + ", lr " + spec.training.lr
                + " (" + text(spec.training.lrScheduler) + "), seed " + spec.training.seed);
        field(out, "Resources", (spec.resources.gpus > 0 ? spec.resources.gpus + " x nvidia.com/gpu (" + spec.resources.gpuProduct + "), " : "no GPU, ")
                + "cpu " + spec.resources.cpu + ", memory " + spec.resources.memory + ", /dev/shm " + spec.resources.sharedMemory);
        field(out, "Checkpoints", spec.checkpoints.count + " during training and the final one, under " + spec.checkpoints.uri);
        if (spec.activations != null && spec.activations.cache != null) {
            field(out, "Cache", spec.activations.cache.uri + " (mode " + spec.activations.cache.mode.value()
                    + (spec.activations.parallelism == null ? "" : ", generated first by " + spec.activations.parallelism + " pods") + ")");
        }
        List<String> lifecycle = new ArrayList<>();
        if (spec.suspend) {
            lifecycle.add("suspend requested");
        }
        if (spec.cancel) {
            lifecycle.add("cancel requested");
        }
        if (!lifecycle.isEmpty()) {
            field(out, "Requested", String.join(", ", lifecycle));
        }

        out.println();
        field(out, "Phase", orDash(status.phase));
        field(out, "Message", orDash(status.message));
        field(out, "Attempts", (status.attempts == null ? 0 : status.attempts) + " (restarts " + (status.restarts == null ? 0 : status.restarts)
                + " of at most " + spec.maxRestarts + ", preemptions " + (status.preemptions == null ? 0 : status.preemptions)
                + (spec.maxPreemptions == null ? "" : " of at most " + spec.maxPreemptions) + ")");
        if (status.cache != null) {
            CacheStatus cache = status.cache;
            field(out, "Cache job", cache.job + ": " + orDash(cache.phase) + ", " + cache.progress() + " indexes succeeded, "
                    + (cache.active == null ? 0 : cache.active) + " pods running, " + (cache.podFailures == null ? 0 : cache.podFailures)
                    + " pod failures");
            field(out, "  succeeded", orDash(cache.succeeded));
            field(out, "  failed", orDash(cache.failed));
            field(out, "  unfinished", orDash(cache.unfinished()));
        }
        field(out, "Job", orDash(status.jobName));
        field(out, "Started", when(status.startTime, now));
        field(out, "Completed", when(status.completionTime, now));
        if (status.tokensTrained != null) {
            field(out, "Progress", orDash(status.progress) + " (" + status.tokensTrained + " of " + spec.training.tokens + " tokens)"
                    + (status.tokensPerSecond == null ? "" : ", " + Units.count(Math.round(status.tokensPerSecond)) + " tokens/s")
                    + (status.eta == null ? "" : ", ETA " + status.eta));
            if (only != null) {
                Double ceLossScore = status.saes.isEmpty() ? null : status.saes.get(0).ceLossScore;
                field(out, "Metrics", "L0 " + (status.l0 == null ? "-" : String.format(Locale.ROOT, "%.2f", status.l0))
                        + ", explained variance " + (status.explainedVariance == null ? "-" : String.format(Locale.ROOT, "%.4f", status.explainedVariance))
                        + ", dead features " + orDash(status.deadFeatures)
                        + (ceLossScore == null ? "" : String.format(Locale.ROOT, ", CE loss score %.4f", ceLossScore)));
            }
            field(out, "Last report", when(status.lastProgressTime, now));
        }
        if (status.traceId != null) {
            field(out, "Trace ID", status.traceId);
        }
        out.println("Checkpoints written:" + (status.checkpoints.isEmpty() ? " <none>" : ""));
        status.checkpoints.forEach(uri -> out.println("  " + uri));

        out.println("Conditions:" + (status.conditions.isEmpty() ? " <none>" : ""));
        if (!status.conditions.isEmpty()) {
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"));
            for (Condition condition : status.conditions) {
                rows.add(List.of(condition.getType(), condition.getStatus(), orDash(condition.getReason()),
                        ago(condition.getLastTransitionTime(), now), orDash(condition.getMessage())));
            }
            Columns.print(out, rows, 2, "  ");
        }
        List<Event> events = events(run, ns);
        out.println("Events:" + (events.isEmpty() ? " <none>" : ""));
        if (!events.isEmpty()) {
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("TYPE", "REASON", "AGE", "FROM", "MESSAGE"));
            for (Event event : events) {
                String from = event.getSource() != null && event.getSource().getComponent() != null ? event.getSource().getComponent()
                        : orDash(event.getReportingComponent());
                rows.add(List.of(orDash(event.getType()), orDash(event.getReason()), ago(timestamp(event), now), from,
                        event.getInvolvedObject() != null && "Job".equals(event.getInvolvedObject().getKind())
                                ? "Job " + event.getInvolvedObject().getName() + ": " + orDash(event.getMessage()) : orDash(event.getMessage())));
            }
            Columns.print(out, rows, 2, "  ");
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** Events on the run (this one: matched by uid) and on its Jobs (attempts and the cache Job), oldest first. */
    private List<Event> events(TrainingRun run, String ns) {
        Pattern jobs = Pattern.compile("^" + Pattern.quote(name) + "-(a[0-9]+|cache)$");
        return client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> e.getInvolvedObject() != null)
                .filter(e -> TrainingRun.KIND.equals(e.getInvolvedObject().getKind())
                        ? Objects.equals(e.getInvolvedObject().getUid(), run.getMetadata().getUid())
                        : "Job".equals(e.getInvolvedObject().getKind()) && e.getInvolvedObject().getName() != null
                        && jobs.matcher(e.getInvolvedObject().getName()).matches())
                .sorted(Comparator.comparing(DescribeCommand::timestamp, Comparator.nullsFirst(Comparator.naturalOrder())))
                .toList();
    }

    private static String timestamp(Event event) {
        if (event.getLastTimestamp() != null) {
            return event.getLastTimestamp();
        }
        if (event.getEventTime() != null && event.getEventTime().getTime() != null) {
            return event.getEventTime().getTime();
        }
        return event.getFirstTimestamp();
    }

    private static void field(PrintWriter out, String label, String value) {
        out.printf("%-13s %s%n", label + ":", value);
    }

    private static String when(String timestamp, Instant now) {
        return timestamp == null ? "-" : timestamp + " (" + ago(timestamp, now) + " ago)";
    }

    private static String ago(String timestamp, Instant now) {
        if (timestamp == null) {
            return "-";
        }
        return Durations.human(Duration.between(OffsetDateTime.parse(timestamp).toInstant(), now));
    }

    /** An enum as it is written in YAML (jumprelu, float16), not as Java names it. */
    private static String text(Enum<?> value) {
        return dev.saeforge.api.Mappers.json().convertValue(value, String.class);
    }

    private static String orDash(Object value) {
        return value == null ? "-" : value.toString();
    }
}
