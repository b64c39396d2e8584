package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.operator.TrainingJobs;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.dsl.LogWatch;
import io.fabric8.kubernetes.client.dsl.Loggable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.Optional;

/** The trainer's log: kubectl logs on the pod of the run's current attempt, found by its labels. */
@Command(name = "logs", description = "Print the trainer's log of a run's current attempt (or of --attempt N); -f follows it.")
public class LogsCommand extends ClusterCommand {
    @Parameters(paramLabel = "NAME", description = "The run.")
    String name;

    @Option(names = {"-f", "--follow"}, description = "Keep printing as the trainer writes, until its container ends.")
    boolean follow;

    @Option(names = "--attempt", paramLabel = "N", description = "An earlier attempt (1 is the first); default: the current one.")
    Integer attempt;

    @Option(names = "--tail", paramLabel = "LINES", description = "Only the last LINES lines.")
    Integer tail;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = out();
        String ns = namespace();
        TrainingRun run = run(ns, name);
        if (run == null) {
            return ExitCodes.FAILURE;
        }
        Integer current = run.getStatus() == null ? null : run.getStatus().attempts;
        int wanted = attempt != null ? attempt : current == null ? 0 : current;
        if (wanted < 1 || (current != null && wanted > current) || (current == null && attempt != null)) {
            return fail(ExitCodes.FAILURE, "error: trainingrun \"" + name + "\" has " + (current == null ? "no attempt yet" : current + " attempt(s)")
                    + (run.getStatus() != null && run.getStatus().message != null ? " (" + run.getStatus().message + ")" : ""));
        }
        Optional<Pod> pod = client.pods().inNamespace(ns)
                .withLabel(TrainingJobs.RUN_LABEL, name)
                .withLabel(TrainingJobs.ATTEMPT_LABEL, Integer.toString(wanted))
                .list().getItems().stream()
                .max(Comparator.comparing(p -> p.getMetadata().getCreationTimestamp(), Comparator.nullsFirst(Comparator.naturalOrder())));
        if (pod.isEmpty()) {
            return fail(ExitCodes.FAILURE, "error: attempt " + wanted + " of trainingrun \"" + name + "\" has no pod (yet, or any more)"
                    + (run.getStatus() != null && run.getStatus().message != null ? ": " + run.getStatus().message : ""));
        }
        var container = client.pods().inNamespace(ns).withName(pod.get().getMetadata().getName()).inContainer(TrainingJobs.CONTAINER);
        Loggable log = tail == null ? container : container.tailingLines(tail);
        if (!follow) {
            out.print(log.getLog());
            out.flush();
            return ExitCodes.OK;
        }
        try (LogWatch watch = log.watchLog();
             BufferedReader lines = new BufferedReader(new InputStreamReader(watch.getOutput(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                out.println(line);
                out.flush();
            }
        }
        return ExitCodes.OK;
    }
}
