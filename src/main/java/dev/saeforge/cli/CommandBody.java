package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.lm.InvalidModelException;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * The work of a command, run so that failures become one message on stderr and the exit code
 * that says what kind they were: bad input (a model, hook, argument) is 2, I/O at run time is 1.
 */
@FunctionalInterface
interface CommandBody {
    int run(PrintWriter out) throws IOException;

    static int execute(CommandSpec command, CommandBody body) {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        try {
            return body.run(out);
        } catch (InvalidModelException | IllegalArgumentException e) {
            err.println(e.getMessage());
            return ExitCodes.INVALID_INPUT;
        } catch (IOException | UncheckedIOException e) {
            err.println(FailureMessages.describe(e));
            return ExitCodes.FAILURE;
        } finally {
            out.flush();
            err.flush();
        }
    }
}
