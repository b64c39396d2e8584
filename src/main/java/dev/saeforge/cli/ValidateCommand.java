package dev.saeforge.cli;

import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
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
                "With -o, print the runs with every default filled in."})
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
                valid.addAll(runs);
                if (output == null) {
                    for (TrainingRun run : runs) {
                        out.println(file + ": TrainingRun " + run.getMetadata().getName() + " is valid");
                    }
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
