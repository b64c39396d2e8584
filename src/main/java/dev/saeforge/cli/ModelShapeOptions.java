package dev.saeforge.cli;

import dev.saeforge.lm.TinyQwen3;
import dev.saeforge.store.Safetensors;
import picocli.CommandLine.Option;

/**
 * The shape of a generated Qwen3 model, shared by the commands that make one. A command picks its
 * defaults by the instance it declares ({@link #tiny()}, {@link #benchmark()}); help shows them.
 */
public class ModelShapeOptions {
    @Option(names = "--layers", paramLabel = "N", description = "Decoder layers (default ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--hidden", paramLabel = "N", description = "hidden_size, the residual width (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--intermediate", paramLabel = "N", description = "intermediate_size, the MLP width (default ${DEFAULT-VALUE}).")
    int intermediate;

    @Option(names = "--heads", paramLabel = "N", description = "Query heads (default ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "N", description = "Key/value heads, dividing --heads (default ${DEFAULT-VALUE}).")
    int kvHeads;

    @Option(names = "--head-dim", paramLabel = "N", description = "Width of one head, even (default ${DEFAULT-VALUE}).")
    int headDim;

    @Option(names = "--vocab", paramLabel = "N", description = "Vocabulary rows, at least 259 (default ${DEFAULT-VALUE}).")
    int vocab;

    @Option(names = "--untied", description = "Give the model its own lm_head (tie_word_embeddings false, as on Qwen3-8B); "
            + "by default lm_head is the embedding matrix, as on Qwen3-0.6B.")
    boolean untied;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the random weights (default ${DEFAULT-VALUE}).")
    long seed;

    private ModelShapeOptions(TinyQwen3.Options defaults) {
        layers = defaults.layers();
        hidden = defaults.hidden();
        intermediate = defaults.intermediate();
        heads = defaults.heads();
        kvHeads = defaults.kvHeads();
        headDim = defaults.headDim();
        vocab = defaults.vocab();
        untied = !defaults.tied();
        seed = defaults.seed();
    }

    /** 2 layers, hidden 64, 4 heads, 2 kv heads, head_dim 16, intermediate 128, vocab 300, tied. */
    static ModelShapeOptions tiny() {
        return new ModelShapeOptions(TinyQwen3.Options.defaults());
    }

    /** The ~100M-parameter model `bench lm` measures. */
    static ModelShapeOptions benchmark() {
        return new ModelShapeOptions(dev.saeforge.lm.ForwardBenchmark.Settings.defaults().model());
    }

    TinyQwen3.Options toOptions(Safetensors.Dtype dtype, int shards) {
        return new TinyQwen3.Options(layers, hidden, intermediate, heads, kvHeads, headDim, vocab, !untied, seed, dtype, shards);
    }
}
