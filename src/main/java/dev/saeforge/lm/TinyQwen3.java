package dev.saeforge.lm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.store.Safetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a small random Qwen3 checkpoint laid out as on the Hugging Face hub: config.json,
 * model.safetensors (or shards and model.safetensors.index.json), a byte-level BPE
 * tokenizer.json trained on {@link #CORPUS} and Qwen3's tokenizer_config.json (no BOS).
 *
 * <p>The weights are random but scaled so a forward pass stays informative: projections are
 * N(0, 1/fan_in), embeddings N(0, 1), norm weights 1 + N(0, 0.1^2), so activations stay of
 * order one, attention is far from uniform, and every weight changes the output.
 */
public final class TinyQwen3 {
    /** The text the tiny tokenizer's merges are learned from. */
    public static final String CORPUS = """
            Sparse autoencoders read the activations of a language model and rewrite each one as a \
            sum of a few features taken from a large dictionary. A feature that fires on the word \
            "the" at the start of a sentence, another that fires inside quoted speech, a third that \
            tracks numbers such as 1, 2, 3 and 2024: each is a direction in the residual stream. \
            The model reads the text token by token; the tokenizer splits the text into pieces that \
            the model has seen many times, and the pieces that are left become bytes. Training the \
            autoencoder on these activations, then reading which tokens make each feature fire, is \
            how researchers look inside the model. They train, they measure, they read the features \
            again, and they share what they learn with the others who train them.
            """;

    /** As Qwen3's post-trained models have it: no BOS, {@code <|im_end|>} ends a turn, {@code <|endoftext|>} pads. */
    static final String TOKENIZER_CONFIG = """
            {
              "add_bos_token": false,
              "bos_token": null,
              "eos_token": "<|im_end|>",
              "pad_token": "<|endoftext|>",
              "tokenizer_class": "Qwen2Tokenizer"
            }
            """;

    /** The shape and storage of a tiny model; {@link #defaults()} is hidden 64, 2 layers, vocab 300. */
    public record Options(int layers, int hidden, int intermediate, int heads, int kvHeads, int headDim,
                          int vocab, boolean tied, long seed, Safetensors.Dtype dtype, int shards) {
        public static Options defaults() {
            return new Options(2, 64, 128, 4, 2, 16, 300, true, 0, Safetensors.Dtype.BF16, 1);
        }

        public Options withTied(boolean value) {
            return new Options(layers, hidden, intermediate, heads, kvHeads, headDim, vocab, value, seed, dtype, shards);
        }

        public Options withDtype(Safetensors.Dtype value) {
            return new Options(layers, hidden, intermediate, heads, kvHeads, headDim, vocab, tied, seed, value, shards);
        }

        public Options withShards(int value) {
            return new Options(layers, hidden, intermediate, heads, kvHeads, headDim, vocab, tied, seed, dtype, value);
        }

        public Options withSeed(long value) {
            return new Options(layers, hidden, intermediate, heads, kvHeads, headDim, vocab, tied, value, dtype, shards);
        }

        public Qwen3Config config() {
            return new Qwen3Config(vocab, hidden, intermediate, layers, heads, kvHeads, headDim, 1_000_000.0, 1e-6, tied,
                    Qwen3Config.DEFAULT_MAX_POSITIONS, switch (dtype) {
                        case F32 -> "float32";
                        case F16 -> "float16";
                        case BF16, I64 -> "bfloat16";
                    });
        }
    }

    private TinyQwen3() {
    }

    /** Writes the checkpoint into {@code dir} (created if needed) and returns its config. */
    public static Qwen3Config write(Path dir, Options options) throws IOException {
        if (options.dtype() == Safetensors.Dtype.I64) {
            throw new IllegalArgumentException("weights are stored as F32, F16 or BF16, not I64");
        }
        if (options.shards() < 1) {
            throw new IllegalArgumentException("shards must be >= 1, got " + options.shards());
        }
        int minimumVocab = 256 + ByteLevelBpe.SPECIAL_TOKENS.size();
        if (options.vocab() < minimumVocab) {
            throw new IllegalArgumentException("vocab " + options.vocab() + " is too small: a byte-level tokenizer needs "
                    + minimumVocab + " ids (256 bytes and " + ByteLevelBpe.SPECIAL_TOKENS.size() + " special tokens)");
        }
        Qwen3Config config = options.config();
        checkFits(dir, config, options.dtype());
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(Qwen3Config.FILE), config.toJson());
        ByteLevelBpe tokenizer = ByteLevelBpe.train(CORPUS, options.vocab() - minimumVocab);
        Files.writeString(dir.resolve(Tokenizer.FILE), tokenizer.toJson());
        Files.writeString(dir.resolve(SpecialTokens.TOKENIZER_CONFIG), TOKENIZER_CONFIG);
        writeWeights(dir, config, options);
        return config;
    }

    /**
     * Refuses, before anything is written, a model whose weights cannot be written here: a tensor
     * larger than one Java buffer, more than this JVM's free heap (every tensor is held until the
     * files are written, and the largest one also as floats), or more than the disk under
     * {@code dir} has free.
     */
    private static void checkFits(Path dir, Qwen3Config config, Safetensors.Dtype dtype) throws IOException {
        long total = 0;
        long largest = 0;
        String largestName = null;
        for (Map.Entry<String, Qwen3Weights.Expected> entry : Qwen3Weights.expectedTensors(config).entrySet()) {
            long elements = elements(entry.getValue().shape());
            total += elements * dtype.bytes;
            if (elements > largest) {
                largest = elements;
                largestName = entry.getKey() + " " + Arrays.toString(entry.getValue().shape());
            }
        }
        String model = String.format("a Qwen3 of %,d parameters (%s as %s)", config.parameters(), bytes(total), dtype);
        if (largest * dtype.bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(String.format("%s cannot be written: its largest tensor, %s, has %,d values, more than one"
                    + " Java buffer of 2 GiB holds; choose smaller sizes", model, largestName, largest));
        }
        Runtime runtime = Runtime.getRuntime();
        long needed = total + largest * (Float.BYTES + dtype.bytes);
        long heap = runtime.maxMemory() - (runtime.totalMemory() - runtime.freeMemory());
        if (needed > heap) {
            throw new IllegalArgumentException(String.format("%s needs about %s of memory to write, but only %s of Java heap is free"
                    + " (raise it with SAEFORGE_JAVA_OPTS=-Xmx..., or choose smaller sizes)", model, bytes(needed), bytes(heap)));
        }
        Path existing = dir.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        long free = existing == null ? Long.MAX_VALUE : Files.getFileStore(existing).getUsableSpace();
        if (total > free) {
            throw new IllegalArgumentException(String.format("%s does not fit on the disk holding %s: %s free", model, existing, bytes(free)));
        }
    }

    private static String bytes(long n) {
        return n >= 1L << 30 ? String.format("%.1f GiB", n / (double) (1L << 30)) : String.format("%.1f MiB", n / (double) (1 << 20));
    }

    private static void writeWeights(Path dir, Qwen3Config config, Options options) throws IOException {
        SplittableRandom random = new SplittableRandom(options.seed());
        Map<String, Qwen3Weights.Expected> tensors = Qwen3Weights.expectedTensors(config);
        long totalBytes = tensors.values().stream().mapToLong(e -> elements(e.shape()) * options.dtype().bytes).sum();
        int shards = options.shards();
        List<Safetensors.Writer> writers = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            writers.add(Safetensors.writer().metadata("format", "pt"));
        }
        ObjectNode index = new ObjectMapper().createObjectNode();
        index.putObject("metadata").put("total_size", totalBytes);
        ObjectNode weightMap = index.putObject("weight_map");
        long written = 0;
        for (Map.Entry<String, Qwen3Weights.Expected> entry : tensors.entrySet()) {
            long[] shape = entry.getValue().shape();
            int shard = (int) Math.min(shards - 1, written * shards / totalBytes);
            writers.get(shard).addFloats(entry.getKey(), options.dtype(), shape, randomWeight(entry.getKey(), shape, random));
            weightMap.put(entry.getKey(), shardName(shard, shards));
            written += elements(shape) * options.dtype().bytes;
        }
        if (shards == 1) {
            writers.get(0).write(dir.resolve(Qwen3Weights.SINGLE_FILE));
            return;
        }
        for (int s = 0; s < shards; s++) {
            writers.get(s).write(dir.resolve(shardName(s, shards)));
        }
        Files.writeString(dir.resolve(Qwen3Weights.INDEX_FILE),
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(index) + "\n");
    }

    static String shardName(int shard, int shards) {
        return String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
    }

    private static float[] randomWeight(String name, long[] shape, SplittableRandom random) {
        float[] values = new float[Math.toIntExact(elements(shape))];
        boolean norm = shape.length == 1;
        boolean embedding = name.equals(Qwen3Weights.EMBEDDING);
        double std = norm ? 0.1 : embedding ? 1.0 : 1.0 / Math.sqrt(shape[1]);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((norm ? 1.0 : 0.0) + std * random.nextGaussian());
        }
        return values;
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
