package dev.saeforge.cli;

import dev.saeforge.store.Directories;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.lm.Qwen3Config;
import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.Safetensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** Writes a small random Qwen3 checkpoint, laid out as on the Hugging Face hub. */
@Command(name = "init-tiny",
        description = {"Write a random Qwen3-architecture checkpoint into DIR: config.json,",
                "model.safetensors (or shards and model.safetensors.index.json)",
                "and a byte-level BPE tokenizer.json."})
public class InitTinyCommand implements Callable<Integer> {
    /** The dtypes weights can be stored in, by their safetensors names. */
    enum StoredDtype {
        bf16(Safetensors.Dtype.BF16), f16(Safetensors.Dtype.F16), f32(Safetensors.Dtype.F32);

        final Safetensors.Dtype dtype;

        StoredDtype(Safetensors.Dtype dtype) {
            this.dtype = dtype;
        }
    }

    @Parameters(paramLabel = "DIR", description = "A new or empty directory.")
    Path dir;

    @Mixin
    ModelShapeOptions shape = ModelShapeOptions.tiny();

    @Option(names = "--dtype", paramLabel = "DTYPE", description = "Stored weight type: bf16, f16 or f32 (default ${DEFAULT-VALUE}).")
    StoredDtype dtype = StoredDtype.bf16;

    @Option(names = "--shards", paramLabel = "N", description = "Number of safetensors shards (default ${DEFAULT-VALUE}).")
    int shards = 1;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        return CommandBody.execute(command, out -> {
            if (Files.exists(dir) && (!Files.isDirectory(dir) || !isEmpty(dir))) {
                throw new IllegalArgumentException(dir + " is not an empty directory; init-tiny writes a fresh checkpoint into a new or empty one");
            }
            Qwen3Config config = writeWhole(dir.toAbsolutePath().normalize(), shape.toOptions(dtype.dtype, shards));
            out.printf("wrote %s: Qwen3 with %d layers, hidden %d, intermediate %d, %d heads (%d kv, head_dim %d), vocab %d, %s, %s weights, %,d parameters%n",
                    dir, config.numLayers(), config.hiddenSize(), config.intermediateSize(), config.numHeads(), config.numKvHeads(),
                    config.headDim(), config.vocabSize(), config.tieWordEmbeddings() ? "tied" : "untied", dtype, config.parameters());
            return ExitCodes.OK;
        });
    }

    /**
     * Writes into a fresh sibling of {@code target} and renames it into place, so that a refusal or
     * a failure half-way (a full disk) leaves no directory behind, not even the parents it made.
     */
    private static Qwen3Config writeWhole(Path target, TinyQwen3.Options options) throws IOException {
        Path created = target.getParent();
        while (created.getParent() != null && !Files.exists(created.getParent())) {
            created = created.getParent();
        }
        boolean madeParents = !Files.exists(created);
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".writing-");
        try {
            Qwen3Config config = TinyQwen3.write(staging, options);
            Files.deleteIfExists(target); // new or empty: checked before
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            return config;
        } catch (Throwable e) {
            Directories.deleteQuietly(madeParents ? created : staging);
            throw e;
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }
}
