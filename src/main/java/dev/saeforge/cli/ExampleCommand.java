package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;

/** Prints one of the ready TrainingRuns shipped in examples/. */
@Command(name = "example",
        description = "Print a ready TrainingRun (seed, sweep, tiny or toy); without a name, list them.")
public class ExampleCommand implements Callable<Integer> {
    /** An example by its short name, and the file in examples/ it prints. */
    record Example(String name, String file, String description) {
    }

    static final List<Example> EXAMPLES = List.of(
            new Example("seed", "qwen3-8b-layer28.yaml", "Qwen3-8B blocks.28.hook_mlp_out, 1.2B FineWeb tokens, A100 (SAELens seed run)"),
            new Example("sweep", "qwen3-8b-layer28-sweep.yaml", "the seed run at four L0 coefficients, four SAEs from one stream, A100"),
            new Example("tiny", "tiny-qwen3.yaml", "tiny random Qwen3 on a generated corpus, runs on a laptop CPU"),
            new Example("toy", "toy-superposition.yaml", "64 ground-truth features in 32 dimensions (toy model of superposition)"));

    @Parameters(arity = "0..1", paramLabel = "NAME", description = "seed, sweep, tiny or toy.")
    String name;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        PrintWriter out = command.commandLine().getOut();
        if (name == null) {
            List<List<String>> rows = new java.util.ArrayList<>();
            rows.add(List.of("NAME", "FILE", "DESCRIPTION"));
            EXAMPLES.forEach(example -> rows.add(List.of(example.name(), "examples/" + example.file(), example.description())));
            Columns.print(out, rows, 1, "");
            out.flush();
            return ExitCodes.OK;
        }
        Example example = EXAMPLES.stream().filter(e -> e.name().equals(name)).findFirst().orElse(null);
        if (example == null) {
            command.commandLine().getErr().println("example \"" + name + "\" does not exist; expected one of "
                    + String.join(", ", EXAMPLES.stream().map(Example::name).toList()));
            return ExitCodes.INVALID_INPUT;
        }
        out.print(read(example.file()));
        out.flush();
        return ExitCodes.OK;
    }

    /** The example's text, from the copy of examples/ packaged into the application. */
    static String read(String file) {
        try (InputStream in = ExampleCommand.class.getResourceAsStream("/examples/" + file)) {
            if (in == null) {
                throw new IllegalStateException("examples/" + file + " is missing from the application; rebuild it");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
