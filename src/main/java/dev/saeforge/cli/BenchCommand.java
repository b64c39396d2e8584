package dev.saeforge.cli;

import picocli.CommandLine.Command;

/** Benchmarks that print ratios measured side by side in one process, one subcommand per measured part. */
@Command(name = "bench",
        description = "Measure a part of SAE Forge against its bound, side by side in one process.",
        subcommands = {BenchSaeCommand.class, BenchLmCommand.class, BenchTrainCommand.class, BenchGpuCommand.class, BenchStartupCommand.class})
public class BenchCommand extends ParentCommand {
}
