package dev.saeforge.data;

import dev.hardwood.Hardwood;
import dev.hardwood.InputFile;
import dev.hardwood.metadata.PhysicalType;
import dev.hardwood.reader.ParquetFileReader;
import dev.hardwood.row.PqList;
import dev.hardwood.row.PqStruct;
import dev.hardwood.schema.ColumnProjection;
import dev.hardwood.schema.ColumnSchema;
import dev.hardwood.schema.SchemaNode;
import dev.saeforge.lm.ChatTemplate;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Parquet table read with hardwood, only its text column, or, with a chat template, its
 * conversation column: a list of {content, role} structs, as Hub chat datasets store messages.
 */
final class ParquetRows implements RowReader {
    private static final List<String> MESSAGE_FIELDS = List.of("role", "content");

    private final Hardwood hardwood;
    private final ParquetFileReader file;
    private final dev.hardwood.reader.RowReader rows;
    private final String textField;
    private final ChatTemplate chat;

    /** {@code chat}: null to read text, else the template that renders the conversation under {@code textField}. */
    ParquetRows(java.nio.file.Path path, String name, String textField, ChatTemplate chat, long skip) throws IOException {
        this.textField = textField;
        this.chat = chat;
        this.hardwood = Hardwood.create();
        ParquetFileReader opened = null;
        try {
            opened = hardwood.open(InputFile.of(path));
            if (chat != null) {
                checkConversations(opened, name, textField);
            } else {
                checkText(opened, name, textField);
            }
            this.file = opened;
            this.rows = opened.buildRowReader().projection(ColumnProjection.columns(textField)).skip(skip).build();
        } catch (IOException | RuntimeException e) {
            if (opened != null) {
                opened.close();
            }
            hardwood.close();
            if (e instanceof MissingColumnException) {
                throw e;
            }
            throw new IOException(name + " is not a Parquet file hardwood can read: " + e.getMessage(), e);
        }
    }

    private static void checkText(ParquetFileReader opened, String name, String textField) throws MissingColumnException {
        List<ColumnSchema> columns = opened.getFileSchema().getColumns();
        ColumnSchema column = columns.stream().filter(c -> c.name().equals(textField)).findFirst().orElse(null);
        if (column == null) {
            throw new MissingColumnException(name + " has no column \"" + textField + "\" (it has "
                    + String.join(", ", columns.stream().map(ColumnSchema::name).toList()) + "); set spec.dataset.textField");
        }
        if (column.type() != PhysicalType.BYTE_ARRAY || column.maxRepetitionLevel() > 0) {
            throw new MissingColumnException(name + ": column \"" + textField + "\" holds " + column.type()
                    + (column.maxRepetitionLevel() > 0 ? " lists" : "") + ", not strings; set spec.dataset.textField to a text column");
        }
    }

    /** The conversation column must be a list of structs with string role and content fields. */
    private static void checkConversations(ParquetFileReader opened, String name, String field) throws MissingColumnException {
        List<SchemaNode> fields = opened.getFileSchema().getRootNode().children();
        SchemaNode column = fields.stream().filter(c -> c.name().equals(field)).findFirst().orElse(null);
        if (column == null) {
            throw new MissingColumnException(name + " has no column \"" + field + "\" (it has "
                    + String.join(", ", fields.stream().map(SchemaNode::name).toList()) + "); set spec.dataset.messagesField");
        }
        boolean messages = column instanceof SchemaNode.GroupNode list && list.isList()
                && list.getListElement() instanceof SchemaNode.GroupNode message && message.isStruct()
                && MESSAGE_FIELDS.stream().allMatch(key -> message.children().stream().anyMatch(
                        c -> c.name().equals(key) && c instanceof SchemaNode.PrimitiveNode p && p.type() == PhysicalType.BYTE_ARRAY));
        if (!messages) {
            throw new MissingColumnException(name + ": column \"" + field + "\" is not a list of {role, content} messages with"
                    + " string role and content; set spec.dataset.messagesField to a conversation column");
        }
    }

    @Override
    public Row next() {
        if (!rows.hasNext()) {
            return null;
        }
        rows.next();
        if (rows.isNull(textField)) {
            return Row.malformed("has a null \"" + textField + "\"");
        }
        if (chat != null) {
            return RowReader.conversation(textField, messages(rows.getList(textField)), chat);
        }
        return Row.of(rows.getString(textField));
    }

    /** The messages as the maps JSON Lines gives: a null message stays null, a null role or content absent. */
    private static List<Map<String, Object>> messages(PqList list) {
        List<Map<String, Object>> out = new ArrayList<>(list.size());
        List<PqStruct> structs = list.structs();
        for (int i = 0; i < list.size(); i++) {
            if (list.isNull(i)) {
                out.add(null);
                continue;
            }
            PqStruct struct = structs.get(i);
            Map<String, Object> message = new HashMap<>();
            for (String key : MESSAGE_FIELDS) {
                if (!struct.isNull(key)) {
                    message.put(key, struct.getString(key));
                }
            }
            out.add(message);
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        try {
            rows.close();
            file.close();
        } finally {
            hardwood.close();
        }
    }
}
