package dev.saeforge.cli;

import picocli.CommandLine.Command;

/** Commands about language models. */
@Command(name = "model",
        description = "Make Qwen3 checkpoints and write the forward program.",
        subcommands = {InitTinyCommand.class, ProgramCommand.class})
public class ModelCommand extends ParentCommand {
}
