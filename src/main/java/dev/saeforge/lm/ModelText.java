package dev.saeforge.lm;

import dev.saeforge.api.TextFiles;

import java.io.IOException;
import java.nio.file.Path;

/** The JSON files of a model directory, read whole: one too large or not UTF-8 is an invalid model, named. */
final class ModelText {
    /** config.json, tokenizer_config.json, the shard index: a few KiB on real models. */
    static final long SMALL_FILE_BYTES = 16 * TextFiles.MIB;
    /** tokenizer.json: 11 MiB on Qwen3. */
    static final long TOKENIZER_BYTES = 256 * TextFiles.MIB;

    private ModelText() {
    }

    static String read(Path file, long maxBytes) throws IOException {
        try {
            return TextFiles.read(file, maxBytes, "a model's " + file.getFileName());
        } catch (TextFiles.NotText e) {
            throw new InvalidModelException(e.getMessage());
        }
    }
}
