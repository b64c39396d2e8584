package dev.saeforge.data;

import com.github.luben.zstd.ZstdInputStream;
import dev.saeforge.lm.ChatTemplate;
import dev.saeforge.lm.ChatTemplate;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** The rows of one dataset file, in file order. */
interface RowReader extends Closeable {

    /** One row: its text or token ids, or (problem set) why it has neither. A blank line has none and is passed over. */
    record Row(String text, long[] tokens, String problem) {
        static final Row BLANK = new Row(null, null, null);

        static Row of(String text) {
            return new Row(text, null, null);
        }

        static Row ofTokens(long[] tokens) {
            return new Row(null, tokens, null);
        }

        static Row malformed(String problem) {
            return new Row(null, null, problem);
        }

        boolean isBlank() {
            return text == null && tokens == null && problem == null;
        }
    }

    /**
     * The column a row's document is read from, the first of {@code names} a file has: the text
     * column, a column of token ids (tokens), or conversations that {@code chat} renders to text.
     */
    record Column(List<String> names, boolean tokens, ChatTemplate chat) {
        /** SAELens' is_dataset_tokenized looks for "tokens", then "input_ids". */
        static final List<String> SAELENS_TOKEN_COLUMNS = List.of("tokens", "input_ids");

        static Column text(String name) {
            return new Column(List.of(name), false, null);
        }

        /** The token column {@code name}, or (null) the one SAELens would pick. */
        static Column tokens(String name) {
            return new Column(name == null ? SAELENS_TOKEN_COLUMNS : List.of(name), true, null);
        }

        /** The column {@code name} of conversations, which {@code chat} renders to text. */
        static Column messages(String name, ChatTemplate chat) {
            return new Column(List.of(name), false, chat);
        }

        /** The spec.dataset field that names this column. */
        String specField() {
            return tokens ? "tokensField" : chat != null ? "messagesField" : "textField";
        }

        /** The first of the names {@code present} holds, else null. */
        String pick(Collection<String> present) {
            return names.stream().filter(present::contains).findFirst().orElse(null);
        }

        String describe() {
            return String.join(" or ", names.stream().map(n -> "\"" + n + "\"").toList());
        }
    }

    /** The next row, or null after the last. */
    Row next() throws IOException;

    /**
     * The text {@code chat} makes of a row's conversation under {@code field}, whichever format it
     * came from: a non-empty list of messages, each a map with a string role and content.
     */
    static Row conversation(String field, List<?> messages, ChatTemplate chat) {
        if (messages.isEmpty()) {
            return Row.malformed("has \"" + field + "\" as an empty list, not a list of {role, content} messages");
        }
        for (int i = 0; i < messages.size(); i++) {
            if (!(messages.get(i) instanceof Map<?, ?> message && message.get("role") instanceof String
                    && message.get("content") instanceof String)) {
                return Row.malformed("has \"" + field + "\" message " + (i + 1) + " without a string role and content");
            }
        }
        try {
            return Row.of(chat.render(messages));
        } catch (IllegalArgumentException e) {
            return Row.malformed("has \"" + field + "\" messages the model's chat template refuses: " + e.getMessage());
        }
    }

    /**
     * Opens {@code file} (named {@code name} in messages) after its first {@code skip} rows. A line
     * of JSON Lines or text longer than {@code maxRecordBytes} is a malformed row. A column with a
     * chat template (JSON Lines or Parquet) holds conversations it renders to text.
     *
     * @throws MissingColumnException when a table has no {@code column} of the kind it should
     */
    static RowReader open(Path file, String name, TextFormat format, Column column, long skip, int maxRecordBytes)
            throws IOException {
        if (column.tokens() && format == TextFormat.TEXT) {
            throw new IllegalArgumentException(name + " is plain text, which holds no token ids; spec.dataset.tokenized reads"
                    + " Parquet or JSON Lines");
        }
        RowReader reader = switch (format) {
            case PARQUET -> new ParquetRows(file, name, column, skip);
            case JSONL -> new JsonlRows(lines(file, maxRecordBytes), name, column);
            case TEXT -> new TextLines(lines(file, maxRecordBytes));
        };
        if (format != TextFormat.PARQUET) {
            for (long row = 0; row < skip; row++) {
                if (reader.next() == null) {
                    reader.close();
                    throw new IOException(name + " has only " + row + " rows, but the saved position is at row " + skip
                            + "; the file changed since the checkpoint");
                }
            }
        }
        return reader;
    }

    /** The file's lines, decompressed by its suffix, decoded as strict UTF-8, each at most {@code maxBytes}. */
    private static BoundedLines lines(Path file, int maxBytes) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        try {
            in = switch (TextFormat.Compression.of(file.getFileName().toString())) {
                case GZIP -> new GZIPInputStream(in, 1 << 16);
                case ZSTD -> new BufferedInputStream(new ZstdInputStream(in), 1 << 16);
                case NONE -> in;
            };
        } catch (IOException e) {
            in.close();
            throw new IOException(file + ": not a " + TextFormat.Compression.of(file.getFileName().toString()) + " file: " + e.getMessage(), e);
        }
        return new BoundedLines(in, maxBytes);
    }

    /** A table lacks the text column: nothing in the file can be read. */
    final class MissingColumnException extends IOException {
        MissingColumnException(String message) {
            super(message);
        }
    }
}
