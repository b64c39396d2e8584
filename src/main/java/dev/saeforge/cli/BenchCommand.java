package dev.saeforge.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** Benchmarks: a plain parent, one subcommand per measured part. */
@Command(name = "bench",
        description = "Measure a part of SAE Forge against its bound, side by side in one process.",
        subcommands = {BenchLmCommand.class})
public class BenchCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        command.commandLine().usage(command.commandLine().getErr());
        return ExitCodes.INVALID_INPUT;
    }
}
