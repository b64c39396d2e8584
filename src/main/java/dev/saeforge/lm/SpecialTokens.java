package dev.saeforge.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The BOS and EOS tokens of a model as TransformerLens sees them, which is what SAELens' "bos"
 * means (reference/saelens-qwen3.md §7.5). The tokens come from tokenizer_config.json and their
 * ids from tokenizer.json; TransformerLens then fills the gaps: no eos_token becomes
 * {@code <|endoftext|>}, and no bos_token (Qwen3 has none) becomes the eos_token. So on Qwen3,
 * SAELens' BOS is {@code <|im_end|>} (151645) for the post-trained models and
 * {@code <|endoftext|>} (151643) for the -Base ones.
 */
public record SpecialTokens(String bosToken, long bosId, String eosToken, long eosId, boolean bosIsEos) {
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    /** What TransformerLens sets as eos_token when the tokenizer has none. */
    static final String DEFAULT_EOS = "<|endoftext|>";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads the special tokens of the model in {@code dir}. */
    public static SpecialTokens read(Path dir) throws IOException {
        Map<String, Long> ids = tokenIds(dir.resolve(Tokenizer.FILE));
        JsonNode config = config(dir);
        String eos = content(config.get("eos_token"));
        if (eos == null) {
            eos = DEFAULT_EOS;
        }
        String bos = content(config.get("bos_token"));
        boolean bosIsEos = bos == null;
        if (bosIsEos) {
            bos = eos;
        }
        return new SpecialTokens(bos, id(ids, bos, dir), eos, id(ids, eos, dir), bosIsEos);
    }

    /**
     * Every special token of the model in {@code dir}, with its id, as SAELens' get_special_token_ids
     * finds them on the tokenizer TransformerLens loads: the named ones of tokenizer_config.json
     * (bos, eos, unk, sep, pad, cls and mask tokens, with the BOS and EOS TransformerLens fills in)
     * and its additional_special_tokens. A named token the vocabulary lacks is left out.
     */
    public static Map<String, Long> all(Path dir) throws IOException {
        Map<String, Long> ids = tokenIds(dir.resolve(Tokenizer.FILE));
        SpecialTokens named = read(dir);
        JsonNode config = config(dir);
        Map<String, Long> out = new LinkedHashMap<>();
        out.put(named.bosToken(), named.bosId());
        out.put(named.eosToken(), named.eosId());
        List<String> tokens = new ArrayList<>();
        for (String name : List.of("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")) {
            tokens.add(content(config.get(name)));
        }
        config.path("additional_special_tokens").forEach(token -> tokens.add(content(token)));
        tokens.stream().filter(token -> token != null && ids.containsKey(token)).forEach(token -> out.put(token, ids.get(token)));
        return out;
    }

    /** The vocabulary of the model in {@code dir}: every token of its tokenizer.json, added tokens included, with its id. */
    public static Map<String, Long> vocabulary(Path dir) throws IOException {
        return tokenIds(dir.resolve(Tokenizer.FILE));
    }

    /** How the BOS was chosen, for checkpoint metadata and messages. */
    public String describeBos() {
        return bosIsEos
                ? "the tokenizer has no bos_token, so, as TransformerLens does, the eos_token " + bosToken + " (" + bosId + ") serves as BOS"
                : "the tokenizer's bos_token " + bosToken + " (" + bosId + ")";
    }

    private static JsonNode config(Path dir) throws IOException {
        Path configFile = dir.resolve(TOKENIZER_CONFIG);
        return Files.isRegularFile(configFile) ? JSON.readTree(ModelText.read(configFile, ModelText.SMALL_FILE_BYTES))
                : JSON.createObjectNode();
    }

    private static String content(JsonNode token) {
        if (token == null || token.isNull()) {
            return null;
        }
        return token.isTextual() ? token.asText() : token.path("content").asText(null);
    }

    private static long id(Map<String, Long> ids, String token, Path dir) {
        Long id = ids.get(token);
        if (id == null) {
            throw new InvalidModelException(dir.resolve(Tokenizer.FILE) + " has no token " + token + ", which "
                    + TOKENIZER_CONFIG + " (or TransformerLens' default) names as a special token");
        }
        return id;
    }

    private static Map<String, Long> tokenIds(Path tokenizerJson) throws IOException {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new InvalidModelException(tokenizerJson + " does not exist; the model's tokenizer is read from its " + Tokenizer.FILE);
        }
        JsonNode root = JSON.readTree(ModelText.read(tokenizerJson, ModelText.TOKENIZER_BYTES));
        Map<String, Long> ids = new HashMap<>();
        root.path("model").path("vocab").fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asLong()));
        for (JsonNode added : root.path("added_tokens")) {
            ids.put(added.path("content").asText(), added.path("id").asLong());
        }
        return ids;
    }
}
