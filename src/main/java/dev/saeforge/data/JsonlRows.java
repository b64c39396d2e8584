package dev.saeforge.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.lm.ChatTemplate;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON Lines: each line one JSON object holding the text under {@code textField}, or, with a chat
 * template, a conversation (a list of {role, content} messages) that the template renders to text.
 */
final class JsonlRows implements RowReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BoundedLines lines;
    private final String name;
    private final String textField;
    private final ChatTemplate chat;

    /** {@code chat}: null to read text, else the template that renders the conversation under {@code textField}. */
    JsonlRows(BoundedLines lines, String name, String textField, ChatTemplate chat) {
        this.lines = lines;
        this.name = name;
        this.textField = textField;
        this.chat = chat;
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
                    + "); set spec.dataset." + (chat == null ? "textField" : "messagesField"));
        }
        if (chat != null) {
            return conversation(text);
        }
        if (!text.isTextual()) {
            return Row.malformed("has \"" + textField + "\" as a JSON " + text.getNodeType().name().toLowerCase() + ", not a string");
        }
        return Row.of(text.textValue());
    }

    /** The text the chat template makes of a JSON list of {role, content} messages. */
    private Row conversation(JsonNode messages) {
        if (!messages.isArray()) {
            return Row.malformed("has \"" + textField + "\" as a JSON " + messages.getNodeType().name().toLowerCase()
                    + ", not a list of {role, content} messages");
        }
        return RowReader.conversation(textField, JSON.convertValue(messages, List.class), chat);
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
