package dev.saeforge.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.train.StopRequest;
import dev.saeforge.train.Training;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** Runs a TrainingRun in this process: the embedded default, no cluster needed. */
@Command(name = "train",
        description = {"Train the SAE a TrainingRun describes, in this process.",
                "Resumes from the newest complete checkpoint of the run when there is one."})
public class TrainCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "A TrainingRun YAML file.")
    Path file;

    @Option(names = "--summary", paramLabel = "FILE", description = "Also write the final summary as JSON to FILE.")
    Path summaryFile;

    @Option(names = "--stop-after-steps", paramLabel = "N",
            description = "Checkpoint and stop after N steps in this process; a later run resumes (exit code 75).")
    Long stopAfterSteps;

    @Option(names = "--grace-period", paramLabel = "DURATION", defaultValue = "25s", converter = Units.DurationConverter.class,
            description = "After SIGTERM or Ctrl-C, time to finish the step and write a checkpoint before exiting anyway "
                    + "with code 75 (default ${DEFAULT-VALUE}).")
    Duration gracePeriod;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        TrainingRun run;
        try {
            List<TrainingRun> runs = TrainingRuns.read(file);
            if (runs.size() != 1) {
                err.println(file + ": holds " + runs.size() + " TrainingRuns; train takes one");
                return ExitCodes.INVALID_INPUT;
            }
            run = runs.get(0);
        } catch (InvalidSpecException e) {
            Printing.problems(err, e);
            return ExitCodes.INVALID_INPUT;
        } catch (IOException e) {
            err.println(e.getMessage());
            return ExitCodes.INVALID_INPUT;
        }
        if (stopAfterSteps != null && stopAfterSteps < 1) {
            err.println("--stop-after-steps must be at least 1, got " + stopAfterSteps);
            return ExitCodes.INVALID_INPUT;
        }
        StopRequest stop = new StopRequest();
        try (CheckpointStore store = CheckpointStore.open(run.getSpec().checkpoints.uri);
             GracefulStop signals = new GracefulStop(stop, gracePeriod, err)) {
            TerminalProgress progress = new TerminalProgress(err);
            Training.Summary summary = Training.run(run, store, new Training.Options(stopAfterSteps, stop), progress);
            progress.finish();
            SummaryTable.print(out, summary);
            if (summaryFile != null) {
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(summaryFile.toFile(), summary.toJson());
            }
            return summary.outcome() == Training.Outcome.STOPPED ? ExitCodes.RESUME : ExitCodes.OK;
        } catch (Training.NonFiniteError e) {
            err.println("saeforge: training stopped: " + e.getMessage());
            return ExitCodes.FAILURE;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            err.println("saeforge: " + file + ": " + e.getMessage());
            return ExitCodes.INVALID_INPUT;
        } catch (Exception e) {
            err.println("saeforge: training failed: " + e.getMessage());
            return ExitCodes.FAILURE;
        } finally {
            out.flush();
            err.flush();
        }
    }
}
