package dev.saeforge.cli;

import picocli.CommandLine.Command;

/** Benchmarks that print ratios measured side by side in one process. */
@Command(name = "bench", description = "Measure speed as ratios against bare-matmul bounds, in one process.",
        subcommands = {BenchSaeCommand.class})
public class BenchCommand {
}
