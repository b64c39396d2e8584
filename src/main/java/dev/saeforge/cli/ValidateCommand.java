package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.Problem;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.operator.SpecLock;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** Checks TrainingRun files without running anything. */
@Command(name = "validate",
        description = {"Check TrainingRun files and report every problem with its field path.",
                "Print the GPU memory each run is estimated to need, and refuse a run that needs more than its GPU has.",
                "Print each SAE's largest checkpoint tensor, and refuse one too large for any file.",
                "With -o, print the runs with every default filled in, the estimate as the annotation "
                        + MemoryCheck.ANNOTATION + ".",
                "Once a run has started in a cluster, only its spec's " + SpecLock.MUTABLE_WORDS + " can change; the API server "
                        + "and the operator refuse any other edit, and submit says so."})
public class ValidateCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "FILE", description = "TrainingRun YAML or JSON files.")
    List<Path> files;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "Print the normalised runs as yaml or json.")
    OutputFormat output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        List<TrainingRun> valid = new ArrayList<>();
        boolean failed = false;
        for (Path file : files) {
            try {
                List<TrainingRun> runs = TrainingRuns.read(file);
                for (int i = 0; i < runs.size(); i++) {
                    MemoryCheck check = MemoryCheck.of(runs.get(i));
                    CheckpointSizes sizes = CheckpointSizes.of(runs.get(i));
                    List<Problem> problems = new ArrayList<>(check.problems());
                    problems.addAll(sizes.problems());
                    if (output == null) {
                        if (problems.isEmpty()) {
                            out.println(file + ": TrainingRun " + runs.get(i).getMetadata().getName() + " is valid");
                        }
                        check.print(out);
                        sizes.print(out);
                    }
                    if (!problems.isEmpty()) {
                        failed = true;
                        Printing.problems(err, new InvalidSpecException(TrainingRuns.documentName(file.toString(), i, runs.size()),
                                problems));
                    }
                    valid.add(check.annotated());
                }
            } catch (InvalidSpecException e) {
                failed = true;
                Printing.problems(err, e);
            } catch (IOException e) {
                failed = true;
                err.println(e.getMessage());
            }
        }
        if (output != null && !failed) {
            Printing.print(out, valid, output);
        }
        out.flush();
        err.flush();
        return failed ? ExitCodes.INVALID_INPUT : ExitCodes.OK;
    }
}
