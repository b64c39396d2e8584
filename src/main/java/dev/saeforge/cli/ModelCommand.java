package dev.saeforge.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** Commands about language models; a plain parent. */
@Command(name = "model",
        description = "Make and inspect Qwen3 checkpoints.",
        subcommands = {InitTinyCommand.class})
public class ModelCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        command.commandLine().usage(command.commandLine().getErr());
        return ExitCodes.INVALID_INPUT;
    }
}
