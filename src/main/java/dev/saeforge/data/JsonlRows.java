package dev.saeforge.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** JSON Lines: each line one JSON object holding the text under {@code textField}. */
final class JsonlRows implements RowReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BoundedLines lines;
    private final String name;
    private final String textField;

    JsonlRows(BoundedLines lines, String name, String textField) {
        this.lines = lines;
        this.name = name;
        this.textField = textField;
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
        JsonNode text = node.get(textField);
        if (text == null) {
            List<String> keys = new ArrayList<>();
            node.fieldNames().forEachRemaining(keys::add);
            return Row.malformed("has no \"" + textField + "\" field (it has " + (keys.isEmpty() ? "none" : String.join(", ", keys))
                    + "); set spec.dataset.textField");
        }
        if (!text.isTextual()) {
            return Row.malformed("has \"" + textField + "\" as a JSON " + text.getNodeType().name().toLowerCase() + ", not a string");
        }
        return Row.of(text.textValue());
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
