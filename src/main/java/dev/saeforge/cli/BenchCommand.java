package dev.saeforge.cli;

import picocli.CommandLine.Command;

/** Benchmarks, one subcommand per measured part; add new ones to the list. */
@Command(name = "bench",
        description = "Measure a part of SAE Forge against its bound, side by side in one process.",
        subcommands = {BenchLmCommand.class})
public class BenchCommand extends ParentCommand {
}
