package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.Problem;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.operator.SpecLock;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import jakarta.inject.Inject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.HttpURLConnection;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** Creates TrainingRuns in the cluster, after checking them exactly as validate does. */
@Command(name = "submit",
        description = {"Validate the TrainingRuns in FILE and create them in the cluster; nothing is created unless every run is valid",
                "and fits the GPU it asks for (as saeforge validate estimates it).",
                "With --watch, print a line whenever a run changes, until all of them finish."})
public class SubmitCommand extends ClusterCommand {
    private static final SecureRandom RANDOM = new SecureRandom();

    @Parameters(paramLabel = "FILE", description = "TrainingRun YAML or JSON file.")
    Path file;

    @Option(names = {"-w", "--watch"}, description = "Follow the runs until they finish; exit 0 only if all succeed.")
    boolean watch;

    @Inject
    Tracer tracer;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = out();
        PrintWriter err = err();
        List<TrainingRun> runs;
        try {
            runs = TrainingRuns.read(file);
        } catch (InvalidSpecException e) {
            Printing.problems(err, e);
            err.flush();
            return ExitCodes.INVALID_INPUT;
        } catch (IOException e) {
            return fail(ExitCodes.INVALID_INPUT, e.getMessage());
        }
        List<MemoryCheck> checks = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            List<Problem> inCluster = TrainingRuns.clusterProblems(runs.get(i).getSpec());
            if (!inCluster.isEmpty()) {
                Printing.problems(err, new InvalidSpecException(TrainingRuns.documentName(file.toString(), i, runs.size()), inCluster));
                err.flush();
                return ExitCodes.INVALID_INPUT;
            }
            MemoryCheck check = MemoryCheck.of(runs.get(i));
            if (!check.problems().isEmpty()) {
                check.print(out);
                out.flush();
                Printing.problems(err, new InvalidSpecException(TrainingRuns.documentName(file.toString(), i, runs.size()), check.problems()));
                err.flush();
                return ExitCodes.INVALID_INPUT;
            }
            checks.add(check);
        }
        String target = namespace();
        for (TrainingRun run : runs) {
            String own = run.getMetadata().getNamespace();
            if (own != null && namespaceOption != null && !own.equals(namespaceOption)) {
                return fail(ExitCodes.INVALID_INPUT, file + ": TrainingRun " + run.getMetadata().getName() + " names namespace \"" + own
                        + "\", which does not match --namespace \"" + namespaceOption + "\"");
            }
        }
        Span span = tracer.spanBuilder("saeforge submit").setSpanKind(SpanKind.CLIENT).startSpan();
        Map<String, List<String>> created = new LinkedHashMap<>();
        try {
            String traceparent = traceparent(span.getSpanContext());
            for (MemoryCheck check : checks) {
                TrainingRun run = check.annotated();
                if (check.estimate() != null) {
                    out.println(run.getMetadata().getName() + ": GPU memory " + check.summary());
                }
                String runNamespace = run.getMetadata().getNamespace() != null ? run.getMetadata().getNamespace() : target;
                run.getMetadata().setNamespace(runNamespace);
                Map<String, String> annotations = new LinkedHashMap<>();
                if (run.getMetadata().getAnnotations() != null) {
                    annotations.putAll(run.getMetadata().getAnnotations());
                }
                annotations.putIfAbsent(TrainingRun.TRACEPARENT_ANNOTATION, traceparent);
                run.getMetadata().setAnnotations(annotations);
                try {
                    client.resources(TrainingRun.class).inNamespace(runNamespace).resource(run).create();
                } catch (KubernetesClientException e) {
                    if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                        throw e;
                    }
                    TrainingRun existing = client.resources(TrainingRun.class).inNamespace(runNamespace).withName(run.getMetadata().getName()).get();
                    if (existing != null && SpecLock.started(existing) && SpecLock.refusal(withSpec(existing, run)) != null) {
                        return fail(ExitCodes.INVALID_INPUT, "error: trainingrun \"" + run.getMetadata().getName() + "\" in namespace \""
                                + runNamespace + "\" has started with a different spec, and once started only its "
                                + SpecLock.MUTABLE_WORDS + " can change; nothing was changed. Submit the new spec under another name, "
                                + "or delete the running one first (saeforge delete " + run.getMetadata().getName() + ")");
                    }
                    return fail(ExitCodes.FAILURE, "error: trainingrun \"" + run.getMetadata().getName() + "\" already exists in namespace \""
                            + runNamespace + "\"; delete it first (saeforge delete " + run.getMetadata().getName() + ") or choose another name");
                }
                created.computeIfAbsent(runNamespace, n -> new ArrayList<>()).add(run.getMetadata().getName());
                out.println("trainingrun.saeforge.dev/" + run.getMetadata().getName() + " created");
            }
        } finally {
            span.end();
        }
        out.flush();
        if (!watch) {
            return ExitCodes.OK;
        }
        boolean allSucceeded = true;
        for (Map.Entry<String, List<String>> entry : created.entrySet()) {
            allSucceeded &= watch(entry.getKey(), entry.getValue(), out, err);
        }
        return allSucceeded ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    /** The stored run as it would be with {@code submitted}'s spec. */
    private static TrainingRun withSpec(TrainingRun stored, TrainingRun submitted) {
        TrainingRun edited = new TrainingRun();
        edited.setMetadata(stored.getMetadata());
        edited.setStatus(stored.getStatus());
        edited.setSpec(submitted.getSpec());
        return edited;
    }

    /**
     * The W3C traceparent the run carries, so that the operator's and trainer's spans join this
     * trace. With tracing off (the CLI default) a fresh sampled context still ties them together.
     */
    static String traceparent(SpanContext context) {
        if (context.isValid()) {
            return "00-" + context.getTraceId() + "-" + context.getSpanId() + "-" + context.getTraceFlags().asHex();
        }
        byte[] traceId = new byte[16];
        byte[] spanId = new byte[8];
        RANDOM.nextBytes(traceId);
        RANDOM.nextBytes(spanId);
        return "00-" + HexFormat.of().formatHex(traceId) + "-" + HexFormat.of().formatHex(spanId) + "-01";
    }

    /** One change seen by the watch: a run's new state, or its deletion. */
    private record Change(TrainingRun run, boolean deleted) {
    }

    /** Prints a row whenever a run's shown state changes; true if every run succeeded. */
    private boolean watch(String runNamespace, List<String> names, PrintWriter out, PrintWriter err) throws InterruptedException {
        BlockingQueue<Change> changes = new LinkedBlockingQueue<>();
        RunTable table = new RunTable(false, false, List.of(), Instant.now());
        Map<String, List<String>> shown = new HashMap<>();
        Set<String> finished = new HashSet<>();
        boolean allSucceeded = true;
        table.print(out, table.header());
        out.flush();
        try (SharedIndexInformer<TrainingRun> informer = client.resources(TrainingRun.class).inNamespace(runNamespace)
                .inform(new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(TrainingRun run) {
                        changes.add(new Change(run, false));
                    }

                    @Override
                    public void onUpdate(TrainingRun before, TrainingRun after) {
                        changes.add(new Change(after, false));
                    }

                    @Override
                    public void onDelete(TrainingRun run, boolean finalStateUnknown) {
                        changes.add(new Change(run, true));
                    }
                })) {
            while (finished.size() < names.size()) {
                Change change = changes.take();
                String name = change.run().getMetadata().getName();
                if (!names.contains(name) || finished.contains(name)) {
                    continue;
                }
                if (change.deleted()) {
                    err.println("trainingrun \"" + name + "\" was deleted");
                    err.flush();
                    finished.add(name);
                    allSucceeded = false;
                    continue;
                }
                List<String> row = table.row(change.run(), Instant.now());
                List<String> withoutAge = row.subList(0, row.size() - 1);
                if (!withoutAge.equals(shown.get(name))) {
                    shown.put(name, List.copyOf(withoutAge));
                    table.print(out, row);
                    out.flush();
                }
                TrainingRunStatus status = change.run().getStatus();
                if (status != null && status.phase != null && status.phase.isFinal()) {
                    finished.add(name);
                    if (status.phase != TrainingRunStatus.Phase.Succeeded) {
                        allSucceeded = false;
                        if (status.message != null) {
                            err.println(name + ": " + status.message);
                            err.flush();
                        }
                    }
                }
            }
        }
        return allSucceeded;
    }
}
