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
 * A Parquet table read with hardwood, only its text column (strings), its token column (lists of
 * int32 or int64), or, with a chat template, its conversation column: a list of {content, role}
 * structs, as Hub chat datasets store messages.
 */
final class ParquetRows implements RowReader {
    private static final List<String> MESSAGE_FIELDS = List.of("role", "content");

    private final Hardwood hardwood;
    private final ParquetFileReader file;
    private final dev.hardwood.reader.RowReader rows;
    private final String field;
    private final boolean tokens;
    private final ChatTemplate chat;
    private boolean int32;

    ParquetRows(java.nio.file.Path path, String name, Column wanted, long skip) throws IOException {
        this.chat = wanted.chat();
        this.hardwood = Hardwood.create();
        this.tokens = wanted.tokens();
        ParquetFileReader opened = null;
        try {
            opened = hardwood.open(InputFile.of(path));
            List<ColumnSchema> columns = opened.getFileSchema().getColumns();
            List<String> names = columns.stream().map(c -> c.fieldPath().topLevelName()).distinct().toList();
            this.field = wanted.pick(names);
            if (field == null) {
                throw new MissingColumnException(name + " has no column " + wanted.describe() + " (it has "
                        + String.join(", ", names) + "); set spec.dataset." + wanted.specField());
            }
            ColumnSchema column = columns.stream().filter(c -> c.fieldPath().topLevelName().equals(field)).findFirst().orElseThrow();
            if (chat != null) {
                checkConversations(opened, name, field);
            } else if (tokens) {
                if (column.maxRepetitionLevel() != 1 || (column.type() != PhysicalType.INT32 && column.type() != PhysicalType.INT64)) {
                    throw new MissingColumnException(name + ": column \"" + field + "\" holds " + column.type()
                            + (column.maxRepetitionLevel() > 0 ? " lists" : "") + ", not lists of int32 or int64 token ids; set spec.dataset.tokensField");
                }
                int32 = column.type() == PhysicalType.INT32;
            } else if (column.type() != PhysicalType.BYTE_ARRAY || column.maxRepetitionLevel() > 0) {
                throw new MissingColumnException(name + ": column \"" + field + "\" holds " + column.type()
                        + (column.maxRepetitionLevel() > 0 ? " lists" : "") + ", not strings; set spec.dataset.textField to a text column");
            }
            this.file = opened;
            this.rows = opened.buildRowReader().projection(ColumnProjection.columns(field)).skip(skip).build();
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

    /** The conversation column must be a list of structs with string role and content fields. */
    private static void checkConversations(ParquetFileReader opened, String name, String field) throws MissingColumnException {
        SchemaNode column = opened.getFileSchema().getRootNode().children().stream().filter(c -> c.name().equals(field))
                .findFirst().orElseThrow();
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
        if (rows.isNull(field)) {
            return Row.malformed("has a null \"" + field + "\"");
        }
        if (chat != null) {
            return RowReader.conversation(field, messages(rows.getList(field)), chat);
        }
        return tokens ? tokens() : Row.of(rows.getString(field));
    }

    private Row tokens() {
        PqList list = rows.getList(field);
        for (int i = 0; i < list.size(); i++) {
            if (list.isNull(i)) {
                return Row.malformed("has a null at index " + i + " of \"" + field + "\"");
            }
        }
        return Row.ofTokens(int32 ? java.util.Arrays.stream(list.ints().toArray()).asLongStream().toArray() : list.longs().toArray());
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
