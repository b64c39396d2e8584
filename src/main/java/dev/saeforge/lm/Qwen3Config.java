package dev.saeforge.lm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The numbers of a dense Qwen3 model, read from a Hugging Face {@code config.json}
 * (reference/saelens-qwen3.md §6.2). What the forward pass does not implement is refused here,
 * by key and value, rather than computed wrongly later.
 */
public record Qwen3Config(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        double ropeTheta,
        double rmsNormEps,
        boolean tieWordEmbeddings,
        int maxPositionEmbeddings,
        String torchDtype) {

    public static final String FILE = "config.json";
    /** transformers' default when config.json leaves max_position_embeddings out. */
    static final int DEFAULT_MAX_POSITIONS = 32768;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /*
     * Bounds far beyond any released model (Qwen3-235B: 94 layers, width 4096, vocabulary 151,936),
     * within which every parameter count and tensor size is exact in a long: a config.json in the
     * billions is refused here, not met as an overflow or an allocation later.
     */
    static final int MAX_LAYERS = 10_000;
    static final int MAX_WIDTH = 1 << 20;
    static final int MAX_VOCAB = 1 << 24;

    public Qwen3Config {
        check(vocabSize > 0 && vocabSize <= MAX_VOCAB, "vocab_size", vocabSize, "> 0 and <= " + MAX_VOCAB);
        check(hiddenSize > 0 && hiddenSize <= MAX_WIDTH, "hidden_size", hiddenSize, "> 0 and <= " + MAX_WIDTH);
        check(intermediateSize > 0 && intermediateSize <= MAX_WIDTH, "intermediate_size", intermediateSize, "> 0 and <= " + MAX_WIDTH);
        check(numLayers > 0 && numLayers <= MAX_LAYERS, "num_hidden_layers", numLayers, "> 0 and <= " + MAX_LAYERS);
        check(numHeads > 0 && numHeads <= MAX_WIDTH, "num_attention_heads", numHeads, "> 0 and <= " + MAX_WIDTH);
        check(numKvHeads > 0 && numHeads % numKvHeads == 0, "num_key_value_heads", numKvHeads,
                "> 0 and dividing num_attention_heads (" + numHeads + ")");
        // Rotate-half RoPE pairs dimension i with i + head_dim/2.
        check(headDim > 0 && headDim % 2 == 0 && headDim <= MAX_WIDTH, "head_dim", headDim, "even, > 0 and <= " + MAX_WIDTH);
        check(ropeTheta > 0, "rope_theta", ropeTheta, "> 0");
        check(rmsNormEps > 0, "rms_norm_eps", rmsNormEps, "> 0");
        check(maxPositionEmbeddings > 0, "max_position_embeddings", maxPositionEmbeddings, "> 0");
    }

    private static void check(boolean ok, String key, Object value, String expected) {
        if (!ok) {
            throw new InvalidModelException(key + " is " + value + "; expected " + expected);
        }
    }

    /** Width of the concatenated query heads (2048 on Qwen3-0.6B, which differs from hidden_size). */
    public int queryWidth() {
        return numHeads * headDim;
    }

    /** Width of the concatenated key (or value) heads. */
    public int kvWidth() {
        return numKvHeads * headDim;
    }

    /** Parameters of the linear maps of one decoder layer (norm weights excluded). */
    public long layerMatmulParameters() {
        long attention = 2L * hiddenSize * queryWidth() + 2L * hiddenSize * kvWidth();
        long mlp = 3L * hiddenSize * intermediateSize;
        return attention + mlp;
    }

    /** Parameters of one decoder layer: its linear maps and its four norm weights. */
    public long layerParameters() {
        return layerMatmulParameters() + 2L * hiddenSize + 2L * headDim;
    }

    /** What a forward pass to a hook of {@code layer} reads: the embedding and layers 0..layer. */
    public long parametersThrough(int layer) {
        return (long) vocabSize * hiddenSize + (layer + 1L) * layerParameters();
    }

    /** Every parameter of the checkpoint, counting a tied lm_head once. */
    public long parameters() {
        long lmHead = tieWordEmbeddings ? 0 : (long) vocabSize * hiddenSize;
        return parametersThrough(numLayers - 1) + hiddenSize + lmHead;
    }

    /** Reads {@code dir/config.json}. */
    public static Qwen3Config read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        String text;
        try {
            text = ModelText.read(file, ModelText.SMALL_FILE_BYTES);
        } catch (NoSuchFileException e) {
            throw new InvalidModelException(dir + " has no " + FILE + "; a Hugging Face Qwen3 checkpoint directory holds "
                    + FILE + ", tokenizer.json and model.safetensors (or model.safetensors.index.json and its shards)");
        }
        return parse(text, file.toString());
    }

    /** Parses config.json text; {@code source} names it in errors. */
    public static Qwen3Config parse(String json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new InvalidModelException(source + " is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new InvalidModelException(source + " is not a JSON object");
        }
        Keys keys = new Keys(root, source);
        refuseUnsupported(keys);
        JsonNode ropeParameters = root.path("rope_parameters");
        double ropeTheta = root.has("rope_theta") || !ropeParameters.isObject()
                ? keys.number("rope_theta", "the RoPE base, 1000000 for Qwen3")
                : new Keys(ropeParameters, source + " rope_parameters").number("rope_theta", "the RoPE base");
        String dtype = root.path("torch_dtype").asText(root.path("dtype").asText("unknown"));
        try {
            return fromKeys(keys, ropeTheta, dtype);
        } catch (InvalidModelException e) {
            throw e.getMessage().startsWith(source) ? e : new InvalidModelException(source + ": " + e.getMessage());
        }
    }

    private static Qwen3Config fromKeys(Keys keys, double ropeTheta, String dtype) {
        JsonNode root = keys.node();
        return new Qwen3Config(
                keys.integer("vocab_size", "the number of embedding rows"),
                keys.integer("hidden_size", "the residual stream width"),
                keys.integer("intermediate_size", "the MLP width"),
                keys.integer("num_hidden_layers", "the number of decoder layers"),
                keys.integer("num_attention_heads", "the number of query heads"),
                keys.integer("num_key_value_heads", "the number of key/value heads"),
                keys.integer("head_dim", "the width of one attention head, 128 for Qwen3"),
                ropeTheta,
                keys.number("rms_norm_eps", "the RMSNorm epsilon, 1e-6 for Qwen3"),
                keys.bool("tie_word_embeddings"),
                root.has("max_position_embeddings") ? keys.integer("max_position_embeddings", "") : DEFAULT_MAX_POSITIONS,
                dtype);
    }

    /** What this code does not compute: refused by key and value. */
    private static void refuseUnsupported(Keys keys) {
        JsonNode root = keys.node;
        String modelType = keys.text("model_type", "\"qwen3\"");
        if (modelType.contains("moe") || root.path("num_experts").asInt(0) > 0) {
            throw keys.refuse("model_type", "\"" + modelType + "\" with num_experts " + root.path("num_experts").asInt(0)
                    + " is a mixture-of-experts model; SAE Forge runs dense Qwen3 models (model_type \"qwen3\")");
        }
        if (!modelType.equals("qwen3")) {
            throw keys.refuse("model_type", "\"" + modelType + "\" is not supported; expected \"qwen3\" (dense Qwen3)");
        }
        JsonNode architectures = root.path("architectures");
        if (!architectures.isMissingNode() && !architectures.isNull()) {
            if (!architectures.isArray() || architectures.size() != 1 || !architectures.get(0).asText().equals("Qwen3ForCausalLM")) {
                throw keys.refuse("architectures", architectures + " is not supported; expected [\"Qwen3ForCausalLM\"]");
            }
        }
        if (root.path("use_sliding_window").asBoolean(false)) {
            throw keys.refuse("use_sliding_window", "true is not supported: every layer here uses full causal attention");
        }
        JsonNode layerTypes = root.path("layer_types");
        for (JsonNode type : layerTypes) {
            if (!type.asText().equals("full_attention")) {
                throw keys.refuse("layer_types", "contains \"" + type.asText() + "\"; only full_attention is supported");
            }
        }
        refuseRopeScaling(keys, "rope_scaling");
        refuseRopeScaling(keys, "rope_parameters");
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw keys.refuse("hidden_act", "\"" + act + "\" is not supported; expected \"silu\"");
        }
        if (root.path("attention_bias").asBoolean(false)) {
            throw keys.refuse("attention_bias", "true is not supported: Qwen3 projections have no biases");
        }
    }

    /** Only the default RoPE (no scaling) is implemented. */
    private static void refuseRopeScaling(Keys keys, String key) {
        JsonNode scaling = keys.node.path(key);
        if (scaling.isMissingNode() || scaling.isNull()) {
            return;
        }
        String type = scaling.path("rope_type").asText(scaling.path("type").asText("?"));
        if (!type.equals("default")) {
            throw keys.refuse(key, scaling + " is not supported: only the default RoPE (rope_type \"default\", no scaling) is implemented");
        }
    }

    /** The config.json transformers would write for this model. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add("Qwen3ForCausalLM");
        root.put("model_type", "qwen3");
        root.put("attention_bias", false);
        root.put("attention_dropout", 0.0);
        root.put("head_dim", headDim);
        root.put("hidden_act", "silu");
        root.put("hidden_size", hiddenSize);
        root.put("intermediate_size", intermediateSize);
        root.put("max_position_embeddings", maxPositionEmbeddings);
        root.put("max_window_layers", numLayers);
        root.put("num_attention_heads", numHeads);
        root.put("num_hidden_layers", numLayers);
        root.put("num_key_value_heads", numKvHeads);
        root.put("rms_norm_eps", rmsNormEps);
        root.putNull("rope_scaling");
        root.put("rope_theta", ropeTheta);
        root.putNull("sliding_window");
        root.put("tie_word_embeddings", tieWordEmbeddings);
        root.put("torch_dtype", torchDtype);
        root.put("use_cache", true);
        root.put("use_sliding_window", false);
        root.put("vocab_size", vocabSize);
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Typed access to config.json keys with errors that name the file and key. */
    private record Keys(JsonNode node, String source) {
        JsonNode required(String key, String expected) {
            JsonNode value = node.get(key);
            if (value == null || value.isNull()) {
                throw new InvalidModelException(source + ": key \"" + key + "\" is missing; expected " + expected);
            }
            return value;
        }

        int integer(String key, String meaning) {
            JsonNode value = required(key, "a positive integer (" + meaning + ")");
            if (!value.canConvertToInt() || !value.isIntegralNumber()) {
                throw refuse(key, value + " is not an integer; expected a positive integer (" + meaning + ")");
            }
            return value.intValue();
        }

        double number(String key, String meaning) {
            JsonNode value = required(key, "a number (" + meaning + ")");
            if (!value.isNumber()) {
                throw refuse(key, value + " is not a number; expected " + meaning);
            }
            return value.doubleValue();
        }

        boolean bool(String key) {
            JsonNode value = required(key, "true or false");
            if (!value.isBoolean()) {
                throw refuse(key, value + " is not true or false");
            }
            return value.booleanValue();
        }

        String text(String key, String expected) {
            return required(key, expected).asText();
        }

        InvalidModelException refuse(String key, String what) {
            return new InvalidModelException(source + ": " + key + " " + what);
        }
    }
}
