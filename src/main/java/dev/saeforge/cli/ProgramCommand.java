package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.tensor.TorchScript;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Writes the Qwen3 forward's TorchScript archive, for PyTorch on machines without a JVM. */
@Command(name = "program",
        description = {"Write the Qwen3 forward, the TorchScript program SAE Forge runs, as an",
                "archive that PyTorch's torch.jit.load reads (methods hooks, resume,",
                "logits, losses). src/bench/gpu/qwen3_program.py times it against",
                "transformers' Qwen3 on a GPU."})
public class ProgramCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "FILE.pt", description = "Where to write the archive.")
    Path out;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        return CommandBody.execute(command, printer -> {
            TorchScript.writeArchive(Qwen3Model.PROGRAM, out);
            printer.printf("wrote %s: the TorchScript program %s (%,d bytes)%n", out, Qwen3Model.PROGRAM, Files.size(out));
            return ExitCodes.OK;
        });
    }
}
