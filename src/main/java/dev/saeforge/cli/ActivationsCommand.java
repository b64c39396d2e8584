package dev.saeforge.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TextFiles;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.lm.Qwen3Model;
import dev.saeforge.lm.Tokenizer;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Precision;
import dev.saeforge.tensor.Torch;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** Runs a text through the model to a hook and writes the activations, for people and for checks from outside. */
@Command(name = "activations",
        description = {"Run a text through a Qwen3 model to a hook and write the activations",
                "to a safetensors file: `activations` float32 [tokens, width] and",
                "`tokens` int64 [tokens]. The text is cut into windows of",
                "--context-size tokens, each run from position 0."})
public class ActivationsCommand implements Callable<Integer> {
    /** Windows per forward pass. */
    static final int WINDOWS_PER_BATCH = 8;
    /** Every token's activations are held at once, so the text is bounded too. */
    static final long MAX_TEXT_BYTES = 16 * TextFiles.MIB;

    @Option(names = "--model", required = true, paramLabel = "DIR|URI",
            description = "A checkpoint directory, hf://ORG/NAME[@REVISION] or s3://BUCKET/PREFIX.")
    String model;

    @Option(names = "--hook", required = true, paramLabel = "HOOK", description = "e.g. blocks.1.hook_mlp_out")
    String hook;

    @ArgGroup(multiplicity = "1")
    Input input;

    static class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "The text.")
        String text;

        @Option(names = "--file", paramLabel = "FILE", description = "A UTF-8 text file.")
        Path file;
    }

    @Option(names = "--context-size", paramLabel = "N", description = "Tokens per window (default ${DEFAULT-VALUE}).")
    int contextSize = 1024;

    @Option(names = "--dtype", paramLabel = "DTYPE",
            description = "Compute in bfloat16, float16 or float32 (default: the checkpoint's torch_dtype, bfloat16 for Qwen3).")
    ComputeDtype dtype;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.safetensors", description = "Where to write.")
    Path output;

    enum ComputeDtype {
        bfloat16(Precision.BFLOAT16), float16(Precision.FLOAT16), float32(Precision.FLOAT32);

        final Precision precision;

        ComputeDtype(Precision precision) {
            this.precision = precision;
        }
    }

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        return CommandBody.execute(command, out -> {
            if (contextSize < 1) {
                throw new IllegalArgumentException("--context-size must be >= 1, got " + contextSize);
            }
            HookPoint point = HookPoint.parse(hook);
            String text = input.text != null ? input.text : readText(input.file);
            Path dir = ModelSources.fromEnvironment().resolve(model);
            long[] tokens;
            try (Tokenizer tokenizer = Tokenizer.load(dir)) {
                tokens = tokenizer.encode(text);
            }
            if (tokens.length == 0) {
                throw new IllegalArgumentException("the text has no tokens");
            }
            float[] activations;
            int width;
            Precision precision;
            try (Qwen3Model lm = Qwen3Model.load(dir, Torch.device(true), dtype == null ? null : dtype.precision)) {
                point.checkAgainst(lm.config(), model);
                width = point.width(lm.config());
                precision = lm.precision();
                activations = activations(lm, point, tokens, width);
            }
            if (output.toAbsolutePath().getParent() != null) {
                Files.createDirectories(output.toAbsolutePath().getParent());
            }
            Safetensors.writer()
                    .addFloats("activations", Safetensors.Dtype.F32, new long[]{tokens.length, width}, activations)
                    .addLongs("tokens", new long[]{tokens.length}, tokens)
                    .metadata("model", model)
                    .metadata("hook", point.toString())
                    .metadata("context_size", Integer.toString(contextSize))
                    .metadata("dtype", precision.toString())
                    .write(output);
            out.printf("wrote %s: activations [%d, %d] float32 and tokens [%d] int64 at %s of %s%n",
                    output, tokens.length, width, tokens.length, point, model);
            return ExitCodes.OK;
        });
    }

    /** Full windows in batches, then the shorter last window on its own; rows stay in token order. */
    private float[] activations(Qwen3Model lm, HookPoint point, long[] tokens, int width) {
        float[] result = new float[Math.multiplyExact(tokens.length, width)];
        int fullWindows = tokens.length / contextSize;
        try (NDManager manager = Torch.engine().newBaseManager(lm.device())) {
            int start = 0;
            while (start < tokens.length) {
                int windows = start / contextSize < fullWindows ? Math.min(WINDOWS_PER_BATCH, fullWindows - start / contextSize) : 1;
                int length = Math.min(contextSize, tokens.length - start);
                long[][] batch = new long[windows][];
                for (int w = 0; w < windows; w++) {
                    batch[w] = Arrays.copyOfRange(tokens, start + w * length, start + (w + 1) * length);
                }
                try (NDScope scope = new NDScope()) {
                    float[] rows = lm.activations(manager.create(batch), point).toFloatArray();
                    System.arraycopy(rows, 0, result, start * width, rows.length);
                }
                start += windows * length;
            }
        }
        return result;
    }

    private static String readText(Path file) throws IOException {
        try {
            return TextFiles.read(file, MAX_TEXT_BYTES, "a --file text");
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("--file " + file + " does not exist");
        } catch (TextFiles.NotText e) {
            throw new IllegalArgumentException("--file " + e.getMessage());
        }
    }
}
