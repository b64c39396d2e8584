package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * spec.dataset.excludeSpecialTokens, SAELens' exclude_special_tokens: false (keep every
 * position), true (drop the positions of every special token of the tokenizer) or a list of
 * token ids and token strings whose positions are dropped. SAELens takes ids only; a string is
 * the token of that text in the model's tokenizer, resolved when the tokenizer is read.
 *
 * @param all    true for the tokenizer's whole special-token set
 * @param listed the ids (Long) and token strings (String) as written, when a list was given; else null
 */
public record ExcludedTokens(boolean all, List<Object> listed) {
    public static final ExcludedTokens NONE = new ExcludedTokens(false, null);
    public static final String FORM = "true, false, or a list of token ids and token strings, e.g. [151643, \"<|im_end|>\"]";

    /** Whether no position is dropped. */
    public boolean none() {
        return !all && (listed == null || listed.isEmpty());
    }

    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static ExcludedTokens of(JsonNode node) {
        String problem = problem(node);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        if (node.isBoolean()) {
            return new ExcludedTokens(node.booleanValue(), null);
        }
        List<Object> listed = new ArrayList<>();
        for (JsonNode entry : node) {
            listed.add(entry.isTextual() ? entry.asText() : entry.longValue());
        }
        return new ExcludedTokens(false, List.copyOf(listed));
    }

    /** What is wrong with {@code node} as this field's value; null if nothing. */
    static String problem(JsonNode node) {
        if (node.isBoolean()) {
            return null;
        }
        if (!node.isArray()) {
            return node + " is not " + FORM;
        }
        for (int i = 0; i < node.size(); i++) {
            JsonNode entry = node.get(i);
            boolean id = entry.isIntegralNumber() && entry.canConvertToLong() && entry.longValue() >= 0;
            if (!id && !(entry.isTextual() && !entry.asText().isEmpty())) {
                return "entry " + i + " (" + entry + ") is not a token id (a whole number, 0 or more) or a token string; expected " + FORM;
            }
        }
        return null;
    }

    /** As written: a boolean or the list, which is also what SAELens' cfg.json records once strings are ids. */
    @JsonValue
    Object json() {
        return listed == null ? all : listed;
    }
}
