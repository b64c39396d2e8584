package dev.saeforge.cli;

import java.nio.file.Files;
import java.net.URI;
import dev.saeforge.report.Reports;
import dev.saeforge.report.ReportOptions;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.Directories;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.train.Summary;
import dev.saeforge.train.TrainingListener;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.operator.RunReference;
import dev.saeforge.operator.RunStatusReporter;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.S3Settings;
import dev.saeforge.telemetry.TrainingTelemetry;
import dev.saeforge.train.StopRequest;
import dev.saeforge.train.Training;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.opentelemetry.api.OpenTelemetry;
import jakarta.inject.Inject;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Runs a TrainingRun in this process: from a file (the embedded default, no cluster needed) or,
 * with --run, the one stored in the cluster, reporting progress to its status (what the
 * operator's Jobs run).
 */
@Command(name = "train",
        description = {"Train the SAE a TrainingRun describes, in this process.",
                "Resumes from the newest complete checkpoint of the run when there is one."})
public class TrainCommand implements Callable<Integer> {
    /** The run to train: a file, or a TrainingRun in the cluster. */
    static final class Target {
        @Parameters(paramLabel = "FILE", description = "A TrainingRun YAML file.")
        Path file;

        @Option(names = "--run", paramLabel = "NAMESPACE/NAME",
                description = "Train the TrainingRun stored in the cluster and report progress to its status.")
        String run;
    }

    @ArgGroup(multiplicity = "1")
    Target target;

    @Option(names = "--resume", description = "Expect to resume (the operator passes it from the second attempt); "
            + "training resumes from the newest complete checkpoint whenever there is one.")
    boolean resume;

    @Option(names = "--summary", paramLabel = "FILE", description = "Also write the final summary as JSON to FILE.")
    Path summaryFile;

    @Option(names = "--stop-after-steps", paramLabel = "N",
            description = "Checkpoint and stop after N steps in this process; a later run resumes (exit code 75).")
    Long stopAfterSteps;

    @Option(names = "--grace-period", paramLabel = "DURATION", defaultValue = "25s", converter = Units.DurationConverter.class,
            description = "After SIGTERM or Ctrl-C, time to finish the step and write a checkpoint before exiting anyway "
                    + "with code 75 (default ${DEFAULT-VALUE}).")
    Duration gracePeriod;

    @Option(names = "--report-interval", paramLabel = "DURATION", defaultValue = "15s", converter = Units.DurationConverter.class,
            description = "With --run, how often progress is written to the TrainingRun's status (default ${DEFAULT-VALUE}).")
    Duration reportInterval;

    @Inject
    KubernetesClient client;

    @Inject
    OpenTelemetry openTelemetry;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        if (stopAfterSteps != null && stopAfterSteps < 1) {
            err.println("--stop-after-steps must be at least 1, got " + stopAfterSteps);
            return ExitCodes.INVALID_INPUT;
        }
        Read read = read(target.file, target.run, client, err);
        if (read.run() == null) {
            return read.exitCode();
        }
        TrainingRun run = read.run();
        String source = read.source();
        StopRequest stop = new StopRequest();
        TrainingTelemetry telemetry = new TrainingTelemetry(openTelemetry, TrainingTelemetry.runAttributes(
                run.getMetadata().getName(), run.getMetadata().getNamespace(),
                run.getSpec().model == null ? null : run.getSpec().model.name, run.getSpec().hook),
                Optional.ofNullable(System.getenv("TRACEPARENT")).filter(v -> !v.isBlank()));
        List<TrainingListener> listeners = new ArrayList<>(List.of(new TerminalProgress(err), telemetry));
        if (target.run != null) {
            listeners.add(new StatusReports(new RunStatusReporter(client, RunReference.parse(target.run), Clock.systemUTC()),
                    reportInterval, err));
        }
        try (CheckpointStore store = CheckpointStore.open(RunIdentity.of(run).checkpointLocation(run.getSpec().checkpoints.location(System.getenv())),
                storeEnvironment(run));
             GracefulStop signals = new GracefulStop(stop, gracePeriod, err)) {
            if (resume && store.latest(run.getMetadata().getName()).isEmpty()) {
                err.println("saeforge: --resume, but " + store.uri() + " holds no complete checkpoint of "
                        + run.getMetadata().getName() + " yet; starting from the beginning");
            }
            TrainingListener listener = TrainingListener.all(listeners);
            Summary summary;
            try {
                summary = Training.run(RunIdentity.of(run).withAttempt(System.getenv(RunIdentity.ATTEMPT_VARIABLE)), run.getSpec(), store, new Training.Options(stopAfterSteps, stop), listener);
            } catch (RuntimeException | IOException e) {
                telemetry.failed(e);
                throw e;
            }
            telemetry.finished(summary);
            listeners.stream().filter(l -> l instanceof StatusReports).forEach(l -> ((StatusReports) l).flush(summary));
            SummaryTable.print(out, summary);
            // A synthetic run has no tokens to show.
            if (summary.outcome() == Summary.Outcome.COMPLETED && run.getSpec().synthetic == null
                    && run.getSpec().report.writesReport(RunIdentity.of(run).inCluster())) {
                writeReport(store, run, out, err);
            }
            if (summaryFile != null) {
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(summaryFile.toFile(), summary.toJson());
            }
            return summary.outcome() == Summary.Outcome.STOPPED ? ExitCodes.RESUME : ExitCodes.OK;
        } catch (Training.NonFiniteError e) {
            err.println("saeforge: training stopped: " + e.getMessage());
            return ExitCodes.FAILURE;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            err.println("saeforge: " + source + ": " + e.getMessage());
            return ExitCodes.INVALID_INPUT;
        } catch (Exception e) {
            return FailureMessages.failed(err, "training", "the last complete checkpoint", e);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /**
     * The final checkpoint's feature report (spec.report), beside it in the store, and its path or
     * address on stdout. A report that cannot be made is a warning, not a failed run: the SAEs are
     * trained and saved, and {@code saeforge report} makes it later.
     */
    private static void writeReport(CheckpointStore store, TrainingRun run, PrintWriter out, PrintWriter err) {
        String name = run.getMetadata().getName();
        Path dir = null;
        try {
            CheckpointRef checkpoint = store.latest(name).orElseThrow(() -> new IOException(store.uri() + " holds no complete checkpoint of " + name));
            dir = Files.createTempDirectory("saeforge-report-");
            Reports.write(store, checkpoint, ReportOptions.of(run.getSpec().report), dir, ReportCommand.progress(err));
            String uri = store.putReport(name, checkpoint.name(), dir);
            out.println("report: " + (uri.startsWith("file:") ? Path.of(URI.create(uri)) : uri));
        } catch (IOException | RuntimeException e) {
            err.println("saeforge: WARNING: the report of " + name + " was not written: " + FailureMessages.describe(e)
                    + "; write it with: saeforge report " + name + " --store " + store.uri() + " -o DIR");
        } finally {
            if (dir != null) {
                Directories.deleteQuietly(dir);
            }
        }
    }

    /** The process environment, with the spec's retry budget for checkpoint requests (spec.checkpoints.retryFor). */
    private static Map<String, String> storeEnvironment(TrainingRun run) {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put(S3Settings.RETRY_FOR_VARIABLE, run.getSpec().checkpoints.retryFor);
        return env;
    }

    /**
     * A TrainingRun read from a file or the cluster, and what names it in messages ("trainingrun
     * NS/NAME"); with no run, the exit code of why not, said on err.
     */
    record Read(TrainingRun run, int exitCode, String source) {
    }

    /** The run of {@code file}, else the cluster's TrainingRun {@code reference} (NAMESPACE/NAME). */
    static Read read(Path file, String reference, KubernetesClient client, PrintWriter err) {
        String source = file != null ? file.toString() : "trainingrun " + reference;
        try {
            TrainingRun run = file != null ? fromFile(file, err) : fromCluster(client, RunReference.parse(reference), err);
            return new Read(run, ExitCodes.INVALID_INPUT, source);
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            return new Read(null, ExitCodes.INVALID_INPUT, source);
        } catch (KubernetesClientException e) {
            err.println("saeforge: cannot read TrainingRun " + reference + ": " + e.getMessage());
            return new Read(null, ExitCodes.FAILURE, source);
        }
    }

    /** The one TrainingRun of {@code file}, or null after saying why not on {@code err}. */
    private static TrainingRun fromFile(Path file, PrintWriter err) {
        try {
            List<TrainingRun> runs = TrainingRuns.read(file);
            if (runs.size() != 1) {
                err.println(file + ": holds " + runs.size() + " TrainingRuns; expected one");
                return null;
            }
            return runs.get(0);
        } catch (InvalidSpecException e) {
            Printing.problems(err, e);
            return null;
        } catch (IOException e) {
            err.println(e.getMessage());
            return null;
        }
    }

    /** The stored run, checked as a file would be; the API server's own fields are not part of the spec. */
    private static TrainingRun fromCluster(KubernetesClient client, RunReference reference, PrintWriter err) {
        TrainingRun stored = client.resources(TrainingRun.class).inNamespace(reference.namespace()).withName(reference.name()).get();
        if (stored == null) {
            err.println("saeforge: TrainingRun " + reference + " does not exist");
            return null;
        }
        ObjectNode document = Mappers.json().valueToTree(stored);
        document.remove("status");
        try {
            return TrainingRuns.validate(document, "trainingrun " + reference);
        } catch (InvalidSpecException e) {
            Printing.problems(err, e);
            return null;
        }
    }
}
