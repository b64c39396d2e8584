package dev.saeforge.lm;

import ai.djl.engine.EngineException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.LibUtils;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (the Rust tokenizers library through DJL), loaded from a
 * file path only: DJL's by-name loading would reach for the hub. No special tokens are added:
 * Qwen3's tokenizer adds none (it has no BOS, reference/saelens-qwen3.md §6.4).
 */
public final class Tokenizer implements AutoCloseable {
    public static final String FILE = "tokenizer.json";

    private final Path file;
    private final HuggingFaceTokenizer tokenizer;

    private Tokenizer(Path file, HuggingFaceTokenizer tokenizer) {
        this.file = file;
        this.tokenizer = tokenizer;
    }

    /** Loads {@code path}: a tokenizer.json file, or a model directory holding one. */
    public static Tokenizer load(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE) : path;
        if (!Files.isRegularFile(file)) {
            throw new InvalidModelException(file + " does not exist; the model's tokenizer is read from its " + FILE);
        }
        ModelText.read(file, ModelText.TOKENIZER_BYTES); // refuses a file too large or not UTF-8 by name
        System.setProperty("ai.djl.offline", "true");
        try {   // the library itself first, so that its failure is not blamed on the file
            LibUtils.checkStatus();
        } catch (EngineException | LinkageError e) {
            throw new IllegalStateException("the Hugging Face tokenizers library (libtokenizers) could not be loaded: " + causes(e)
                    + " (RUST_LIBRARY_PATH=" + System.getenv("RUST_LIBRARY_PATH") + ")", e);
        }
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(file, Map.of(
                    "addSpecialTokens", "false",
                    "truncation", "false",
                    "padding", "false"));
        } catch (RuntimeException e) {
            throw new InvalidModelException(file + " is not a tokenizer the Hugging Face tokenizers library reads: " + e.getMessage());
        }
        return new Tokenizer(file, tokenizer);
    }

    private static String causes(Throwable e) {
        StringBuilder text = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            text.append(": ").append(cause.getMessage());
        }
        return text.toString();
    }

    public Path file() {
        return file;
    }

    /**
     * The ids of {@code text}, without special tokens added. Straight through the native library:
     * DJL's Encoding would also fetch every token's string, offsets and masks, which costs more
     * than the encoding itself when a producer thread tokenizes a corpus.
     */
    public long[] encode(String text) {
        long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
        try {
            return TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    /** The text of {@code ids}, special tokens included. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
