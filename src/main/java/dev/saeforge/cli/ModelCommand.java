package dev.saeforge.cli;

import picocli.CommandLine.Command;

/** Commands about language models. */
@Command(name = "model",
        description = "Make Qwen3 checkpoints.",
        subcommands = {InitTinyCommand.class})
public class ModelCommand extends ParentCommand {
}
