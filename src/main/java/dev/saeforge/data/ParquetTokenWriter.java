package dev.saeforge.data;

import com.github.luben.zstd.Zstd;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Parquet file of token windows, one row per window in the column {@value #COLUMN} of type
 * list&lt;int32&gt;, laid out as pyarrow writes such a column (what Hugging Face datasets saves a
 * pre-tokenized dataset as): an optional LIST group of a repeated group "list" of an optional
 * int32 "element". Each row group is one ZSTD-compressed v1 data page of PLAIN values with RLE
 * levels, which every Parquet reader reads. hardwood, the reader here, cannot write; this is the
 * little of the format a single list column needs.
 */
final class ParquetTokenWriter implements Closeable {
    static final String COLUMN = "input_ids";
    /** Tokens per row group (and page): 4 MiB of int32 before compression. */
    static final int ROW_GROUP_TOKENS = 1 << 20;
    private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);
    // Parquet's Thrift enums.
    private static final int INT32 = 1;
    private static final int OPTIONAL = 1;
    private static final int REPEATED = 2;
    private static final int CONVERTED_LIST = 3;
    private static final int PLAIN = 0;
    private static final int RLE = 3;
    private static final int ZSTD = 6;
    private static final int DATA_PAGE = 0;
    /** element is defined (3 optional or repeated levels above and at it); rows are never null or empty. */
    private static final int MAX_DEFINITION = 3;

    private final OutputStream out;
    private final Map<String, String> metadata;
    private final List<RowGroup> rowGroups = new ArrayList<>();
    private final List<int[]> pending = new ArrayList<>();
    private long position;
    private int pendingTokens;
    private long rows;

    private record RowGroup(long offset, long rows, long values, long uncompressed, long compressed) {
    }

    /** Writes to {@code file}; {@code metadata} lands in the footer's key-value metadata. */
    ParquetTokenWriter(Path file, Map<String, String> metadata) throws IOException {
        this.out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        this.metadata = metadata;
        write(MAGIC);
    }

    /** Appends one window as a row. */
    void write(long[] window) throws IOException {
        if (window.length == 0) {
            throw new IllegalArgumentException("a window holds at least one token");
        }
        int[] ids = new int[window.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = Math.toIntExact(window[i]);
        }
        pending.add(ids);
        pendingTokens += ids.length;
        if (pendingTokens >= ROW_GROUP_TOKENS) {
            flushRowGroup();
        }
    }

    long rows() {
        return rows + pending.size();
    }

    private void flushRowGroup() throws IOException {
        if (pending.isEmpty()) {
            return;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream(pendingTokens * 4 + 64);
        ByteArrayOutputStream repetition = new ByteArrayOutputStream();
        for (int[] row : pending) {
            // A run of one 0 (a new row) and a run of 1s (the same row); bit width 1.
            rle(repetition, 1, 0);
            if (row.length > 1) {
                rle(repetition, row.length - 1, 1);
            }
        }
        ByteArrayOutputStream definition = new ByteArrayOutputStream();
        rle(definition, pendingTokens, MAX_DEFINITION);
        lengthPrefixed(body, repetition.toByteArray());
        lengthPrefixed(body, definition.toByteArray());
        ByteBuffer values = ByteBuffer.allocate(pendingTokens * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] row : pending) {
            for (int id : row) {
                values.putInt(id);
            }
        }
        body.write(values.array());
        byte[] uncompressed = body.toByteArray();
        byte[] compressed = Zstd.compress(uncompressed);

        Thrift header = new Thrift();
        header.i32(1, DATA_PAGE).i32(2, uncompressed.length).i32(3, compressed.length)
                .beginStruct(5).i32(1, pendingTokens).i32(2, PLAIN).i32(3, RLE).i32(4, RLE).endStruct()
                .stop();
        byte[] headerBytes = header.bytes();
        long offset = position;
        write(headerBytes);
        write(compressed);
        rowGroups.add(new RowGroup(offset, pending.size(), pendingTokens, headerBytes.length + uncompressed.length,
                headerBytes.length + compressed.length));
        rows += pending.size();
        pending.clear();
        pendingTokens = 0;
    }

    /** Writes the last row group and the footer, then closes the file. */
    @Override
    public void close() throws IOException {
        try {
            flushRowGroup();
            Thrift footer = new Thrift();
            footer.i32(1, 1);
            footer.beginList(2, Thrift.STRUCT, 4);
            footer.beginElement().string(4, "schema").i32(5, 1).endStruct();
            footer.beginElement().i32(3, OPTIONAL).string(4, COLUMN).i32(5, 1).i32(6, CONVERTED_LIST).endStruct();
            footer.beginElement().i32(3, REPEATED).string(4, "list").i32(5, 1).endStruct();
            footer.beginElement().i32(1, INT32).i32(3, OPTIONAL).string(4, "element").endStruct();
            footer.i64(3, rows);
            footer.beginList(4, Thrift.STRUCT, rowGroups.size());
            for (RowGroup group : rowGroups) {
                footer.beginElement();
                footer.beginList(1, Thrift.STRUCT, 1);
                footer.beginElement().i64(2, group.offset())
                        .beginStruct(3).i32(1, INT32);
                footer.beginList(2, Thrift.I32, 2).listI32(PLAIN).listI32(RLE);
                footer.beginList(3, Thrift.BINARY, 3).listString(COLUMN).listString("list").listString("element");
                footer.i32(4, ZSTD).i64(5, group.values()).i64(6, group.uncompressed()).i64(7, group.compressed())
                        .i64(9, group.offset()).endStruct()
                        .endStruct();
                footer.i64(2, group.uncompressed()).i64(3, group.rows()).i64(5, group.offset()).i64(6, group.compressed())
                        .endStruct();
            }
            if (!metadata.isEmpty()) {
                footer.beginList(5, Thrift.STRUCT, metadata.size());
                for (Map.Entry<String, String> entry : metadata.entrySet()) {
                    footer.beginElement().string(1, entry.getKey()).string(2, entry.getValue()).endStruct();
                }
            }
            footer.string(6, "saeforge").stop();
            byte[] bytes = footer.bytes();
            write(bytes);
            write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length).array());
            write(MAGIC);
        } finally {
            out.close();
        }
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        position += bytes.length;
    }

    /** One run of the RLE/bit-packing hybrid: the count, then the value in a byte (levels here are under 8). */
    private static void rle(ByteArrayOutputStream out, int count, int value) {
        Thrift.varint(out, (long) count << 1);
        out.write(value);
    }

    private static void lengthPrefixed(ByteArrayOutputStream out, byte[] bytes) {
        byte[] length = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length).array();
        out.writeBytes(length);
        out.writeBytes(bytes);
    }

    /**
     * Thrift's compact protocol, the encoding of Parquet's page headers and footer: fields as a
     * delta from the previous field id and a type nibble, integers as zigzag varints, structs ended
     * by a stop byte. Enough of it for the structures above.
     */
    static final class Thrift {
        static final int I32 = 5;
        static final int I64 = 6;
        static final int BINARY = 8;
        static final int LIST = 9;
        static final int STRUCT = 12;

        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        /** The last field id of each open struct, innermost last. */
        private final int[] lastIds = new int[16];
        private int depth;

        Thrift i32(int id, int value) {
            field(id, I32);
            varint(out, zigzag(value));
            return this;
        }

        Thrift i64(int id, long value) {
            field(id, I64);
            varint(out, zigzag(value));
            return this;
        }

        Thrift string(int id, String value) {
            field(id, BINARY);
            listString(value);
            return this;
        }

        Thrift beginStruct(int id) {
            field(id, STRUCT);
            return beginElement();
        }

        /** Opens a struct that is an element of a list. */
        Thrift beginElement() {
            lastIds[++depth] = 0;
            return this;
        }

        Thrift endStruct() {
            out.write(0);
            depth--;
            return this;
        }

        /** Ends the outermost struct. */
        Thrift stop() {
            out.write(0);
            return this;
        }

        Thrift beginList(int id, int elementType, int size) {
            field(id, LIST);
            if (size < 15) {
                out.write(size << 4 | elementType);
            } else {
                out.write(0xF0 | elementType);
                varint(out, size);
            }
            return this;
        }

        Thrift listI32(int value) {
            varint(out, zigzag(value));
            return this;
        }

        Thrift listString(String value) {
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            varint(out, bytes.length);
            out.writeBytes(bytes);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        private void field(int id, int type) {
            int delta = id - lastIds[depth];
            if (delta > 0 && delta <= 15) {
                out.write(delta << 4 | type);
            } else {
                out.write(type);
                varint(out, zigzag(id));
            }
            lastIds[depth] = id;
        }

        private static long zigzag(long value) {
            return (value << 1) ^ (value >> 63);
        }

        static void varint(ByteArrayOutputStream out, long value) {
            while ((value & ~0x7FL) != 0) {
                out.write((int) (value & 0x7F) | 0x80);
                value >>>= 7;
            }
            out.write((int) value);
        }
    }
}
