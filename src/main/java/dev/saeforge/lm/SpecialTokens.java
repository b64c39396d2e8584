package dev.saeforge.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
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
        Path configFile = dir.resolve(TOKENIZER_CONFIG);
        JsonNode config = Files.isRegularFile(configFile) ? JSON.readTree(ModelText.read(configFile, ModelText.SMALL_FILE_BYTES))
                : JSON.createObjectNode();
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

    /** How the BOS was chosen, for checkpoint metadata and messages. */
    public String describeBos() {
        return bosIsEos
                ? "the tokenizer has no bos_token, so, as TransformerLens does, the eos_token " + bosToken + " (" + bosId + ") serves as BOS"
                : "the tokenizer's bos_token " + bosToken + " (" + bosId + ")";
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
