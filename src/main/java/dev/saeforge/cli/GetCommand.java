package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/** kubectl get for TrainingRuns, with the columns a researcher watches. */
@Command(name = "get", description = {"List TrainingRuns, or show one: NAME PHASE SAES PROGRESS TOKENS/S L0 EXPL-VAR AGE.",
        "-o wide adds RESTARTS ETA DEAD JOB HOOK, and for one run a row per SAE; -o yaml|json prints the stored objects.",
        "L0, EXPL-VAR and DEAD are a single-SAE run's; a run of several SAEs has them per SAE."})
public class GetCommand extends ClusterCommand {
    /** What -o takes: wider table, or the objects themselves. */
    enum Format {
        wide, yaml, json
    }

    @Parameters(arity = "0..1", paramLabel = "NAME", description = "One run; without it, every run in the namespace.")
    String name;

    @Option(names = {"-A", "--all-namespaces"}, description = "Runs of every namespace.")
    boolean allNamespaces;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "wide, yaml or json.")
    Format output;

    @Override
    public Integer call() {
        PrintWriter out = out();
        PrintWriter err = err();
        if (allNamespaces && name != null) {
            return fail(ExitCodes.INVALID_INPUT, "error: a run is named within a namespace; use -n NAMESPACE NAME, not -A");
        }
        String ns = namespace();
        List<TrainingRun> runs;
        if (name != null) {
            TrainingRun run = run(ns, name);
            if (run == null) {
                return ExitCodes.FAILURE;
            }
            runs = List.of(run);
        } else {
            runs = (allNamespaces ? client.resources(TrainingRun.class).inAnyNamespace().list()
                    : client.resources(TrainingRun.class).inNamespace(ns).list()).getItems().stream()
                    .sorted(Comparator.comparing((TrainingRun r) -> r.getMetadata().getNamespace()).thenComparing(r -> r.getMetadata().getName()))
                    .toList();
        }
        if (output == Format.yaml || output == Format.json) {
            Printing.print(out, runs, output == Format.yaml ? OutputFormat.yaml : OutputFormat.json);
        } else if (runs.isEmpty()) {
            err.println(allNamespaces ? "No TrainingRuns found." : "No TrainingRuns found in namespace \"" + ns + "\".");
        } else {
            Instant now = Instant.now();
            RunTable table = new RunTable(output == Format.wide, allNamespaces, runs, now);
            table.print(out, table.header());
            runs.forEach(run -> table.print(out, table.row(run, now)));
            if (name != null && output == Format.wide) {
                out.println();
                Columns.print(out, RunTable.saeRows(runs.get(0)), 3, "");
            }
        }
        out.flush();
        err.flush();
        return ExitCodes.OK;
    }
}
