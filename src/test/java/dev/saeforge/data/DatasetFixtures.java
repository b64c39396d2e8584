package dev.saeforge.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdOutputStream;
import dev.saeforge.api.DatasetSpec;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Dataset files written by the tests: JSON Lines (plain, gzip, zstd), plain text and Parquet (by DuckDB). */
public final class DatasetFixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DatasetFixtures() {
    }

    /** Documents with the characters that trip readers up: quotes, tabs, non-ASCII, emoji. */
    public static List<String> documents(String prefix, int count) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(prefix + " document " + i + ": \"quoted\"\tand ünïcödé ✓ " + "word ".repeat(i % 7));
        }
        return out;
    }

    /** One JSON object per line, {"text": ..., "id": i}, compressed by the file's suffix. */
    public static Path jsonl(Path file, List<String> documents) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            lines.add(JSON.writeValueAsString(Map.of("text", documents.get(i), "id", i)));
        }
        return lines(file, lines);
    }

    /** The lines as they are, compressed by the file's suffix (.gz, .zst). */
    static Path lines(Path file, List<String> lines) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (OutputStream raw = Files.newOutputStream(file);
             OutputStream out = file.toString().endsWith(".gz") ? new GZIPOutputStream(raw)
                     : file.toString().endsWith(".zst") ? new ZstdOutputStream(raw) : raw) {
            for (String line : lines) {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        return file;
    }

    /** A Parquet file written by DuckDB with columns {@code column} (the texts, null where null) and id. */
    static Path parquet(Path file, String column, List<String> documents) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:")) {
            try (Statement s = db.createStatement()) {
                s.execute("CREATE TABLE docs (\"" + column + "\" VARCHAR, id INTEGER)");
            }
            try (PreparedStatement insert = db.prepareStatement("INSERT INTO docs VALUES (?, ?)")) {
                for (int i = 0; i < documents.size(); i++) {
                    insert.setString(1, documents.get(i));
                    insert.setInt(2, i);
                    insert.executeUpdate();
                }
            }
            try (Statement s = db.createStatement()) {
                // Small row groups, so that reading from a saved row crosses them.
                s.execute("COPY (SELECT * FROM docs ORDER BY id) TO '" + file.toAbsolutePath() + "' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 7)");
            }
        } catch (SQLException e) {
            throw new IOException("DuckDB could not write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    /**
     * A Parquet file written by DuckDB with columns id and {@code column}: each conversation as a
     * list of {content, role} structs, as Hub chat datasets store messages (null where null).
     */
    static Path conversationsParquet(Path file, String column, List<List<Map<String, String>>> conversations) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (Connection db = DriverManager.getConnection("jdbc:duckdb:")) {
            try (Statement s = db.createStatement()) {
                s.execute("CREATE TABLE rows (id INTEGER, missing BOOLEAN)");
                s.execute("CREATE TABLE turns (id INTEGER, turn INTEGER, role VARCHAR, content VARCHAR)");
            }
            try (PreparedStatement row = db.prepareStatement("INSERT INTO rows VALUES (?, ?)");
                 PreparedStatement turn = db.prepareStatement("INSERT INTO turns VALUES (?, ?, ?, ?)")) {
                for (int i = 0; i < conversations.size(); i++) {
                    List<Map<String, String>> messages = conversations.get(i);
                    row.setInt(1, i);
                    row.setBoolean(2, messages == null);
                    row.executeUpdate();
                    for (int t = 0; messages != null && t < messages.size(); t++) {
                        turn.setInt(1, i);
                        turn.setInt(2, t);
                        turn.setString(3, messages.get(t).get("role"));
                        turn.setString(4, messages.get(t).get("content"));
                        turn.executeUpdate();
                    }
                }
            }
            try (Statement s = db.createStatement()) {
                s.execute("COPY (SELECT id, CASE WHEN missing THEN NULL ELSE (SELECT list({'content': t.content, 'role': t.role} ORDER BY t.turn)"
                        + " FROM turns t WHERE t.id = r.id) END AS \"" + column + "\" FROM rows r ORDER BY id) TO '" + file.toAbsolutePath()
                        + "' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 7)");
            }
        } catch (SQLException e) {
            throw new IOException("DuckDB could not write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    static TextStream stream(List<Shard> shards, DatasetSpec.MalformedRows malformed, long seed) {
        return stream(shards, malformed, new DatasetSpec().maxRecordBytes, seed);
    }

    static TextStream stream(List<Shard> shards, DatasetSpec.MalformedRows malformed, int maxRecordBytes, long seed) {
        return new TextStream(shards, DatasetSpec.Format.AUTO, "text", malformed, maxRecordBytes, seed, TextStream.RowFilter.ALL,
                "the test data");
    }

    static List<Shard> local(Path... files) {
        List<Shard> out = new ArrayList<>();
        for (Path file : files) {
            out.add(new Shard(file.toString(), () -> file));
        }
        return out;
    }

    static List<String> read(TextStream stream, int count) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(stream.next());
        }
        return out;
    }
}
