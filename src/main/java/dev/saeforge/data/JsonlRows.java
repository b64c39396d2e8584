package dev.saeforge.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.lm.ChatTemplate;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON Lines: each line one JSON object holding, under the column's key, the text (a string), the
 * token ids (an array of integers), or, with a chat template, a conversation (a list of {role,
 * content} messages) that the template renders to text.
 */
final class JsonlRows implements RowReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BoundedLines lines;
    private final String name;
    private final RowReader.Column column;

    JsonlRows(BoundedLines lines, String name, RowReader.Column column) {
        this.lines = lines;
        this.name = name;
        this.column = column;
    }

    @Override
    public Row next() throws IOException {
        BoundedLines.Line read = lines.next();
        if (read == null) {
            return null;
        }
        if (read.problem() != null) {
            return Row.malformed(read.problem());
        }
        String line = read.text();
        if (line.isBlank()) {
            return Row.BLANK;
        }
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            return Row.malformed("is not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (!node.isObject()) {
            return Row.malformed("is a JSON " + node.getNodeType().name().toLowerCase() + ", not an object");
        }
        List<String> keys = new ArrayList<>();
        node.fieldNames().forEachRemaining(keys::add);
        String textField = column.pick(keys);
        if (textField == null) {
            return Row.malformed("has no " + column.describe() + " field (it has " + (keys.isEmpty() ? "none" : String.join(", ", keys))
                    + "); set spec.dataset." + column.specField());
        }
        JsonNode text = node.get(textField);
        if (column.tokens()) {
            return tokens(textField, text);
        }
        if (column.chat() != null) {
            return conversation(textField, text);
        }
        if (!text.isTextual()) {
            return Row.malformed("has \"" + textField + "\" as a JSON " + text.getNodeType().name().toLowerCase() + ", not a string");
        }
        return Row.of(text.textValue());
    }

    /** The text the chat template makes of a JSON list of {role, content} messages. */
    private Row conversation(String field, JsonNode messages) {
        if (!messages.isArray()) {
            return Row.malformed("has \"" + field + "\" as a JSON " + messages.getNodeType().name().toLowerCase()
                    + ", not a list of {role, content} messages");
        }
        return RowReader.conversation(field, JSON.convertValue(messages, List.class), column.chat());
    }

    private static Row tokens(String field, JsonNode ids) {
        if (!ids.isArray()) {
            return Row.malformed("has \"" + field + "\" as a JSON " + ids.getNodeType().name().toLowerCase() + ", not an array of token ids");
        }
        long[] tokens = new long[ids.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode id = ids.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToLong()) {
                return Row.malformed("has " + id + " at index " + i + " of \"" + field + "\", not an integer token id");
            }
            tokens[i] = id.longValue();
        }
        return Row.ofTokens(tokens);
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }

    @Override
    public String toString() {
        return name;
    }
}
