package dev.saeforge.data;

import com.github.luben.zstd.ZstdInputStream;
import dev.saeforge.lm.ChatTemplate;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/** The rows of one dataset file, in file order. */
interface RowReader extends Closeable {

    /** One row: its text, or (problem set) why it has none. A blank line has neither and is passed over. */
    record Row(String text, String problem) {
        static final Row BLANK = new Row(null, null);

        static Row of(String text) {
            return new Row(text, null);
        }

        static Row malformed(String problem) {
            return new Row(null, problem);
        }

        boolean isBlank() {
            return text == null && problem == null;
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
     * of JSON Lines or text longer than {@code maxRecordBytes} is a malformed row. With {@code chat}
     * (JSON Lines or Parquet), {@code textField} holds conversations that it renders to text.
     *
     * @throws MissingColumnException when a table has no {@code textField} column of the kind it should
     */
    static RowReader open(Path file, String name, TextFormat format, String textField, ChatTemplate chat, long skip,
                          int maxRecordBytes) throws IOException {
        RowReader reader = switch (format) {
            case PARQUET -> new ParquetRows(file, name, textField, chat, skip);
            case JSONL -> new JsonlRows(lines(file, maxRecordBytes), name, textField, chat);
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
