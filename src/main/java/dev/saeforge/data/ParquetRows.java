package dev.saeforge.data;

import dev.hardwood.Hardwood;
import dev.hardwood.InputFile;
import dev.hardwood.metadata.PhysicalType;
import dev.hardwood.reader.ParquetFileReader;
import dev.hardwood.row.PqList;
import dev.hardwood.schema.ColumnProjection;
import dev.hardwood.schema.ColumnSchema;

import java.io.IOException;
import java.util.List;

/** A Parquet table read with hardwood, only its text column (strings) or token column (lists of int32 or int64). */
final class ParquetRows implements RowReader {
    private final Hardwood hardwood;
    private final ParquetFileReader file;
    private final dev.hardwood.reader.RowReader rows;
    private final String field;
    private final boolean tokens;
    private boolean int32;

    ParquetRows(java.nio.file.Path path, String name, Column wanted, long skip) throws IOException {
        this.hardwood = Hardwood.create();
        this.tokens = wanted.tokens();
        ParquetFileReader opened = null;
        try {
            opened = hardwood.open(InputFile.of(path));
            List<ColumnSchema> columns = opened.getFileSchema().getColumns();
            List<String> names = columns.stream().map(c -> c.fieldPath().topLevelName()).toList();
            this.field = wanted.pick(names);
            if (field == null) {
                throw new MissingColumnException(name + " has no column " + wanted.describe() + " (it has "
                        + String.join(", ", names) + "); set spec.dataset." + (tokens ? "tokensField" : "textField"));
            }
            ColumnSchema column = columns.get(names.indexOf(field));
            if (tokens) {
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

    @Override
    public Row next() {
        if (!rows.hasNext()) {
            return null;
        }
        rows.next();
        if (rows.isNull(field)) {
            return Row.malformed("has a null \"" + field + "\"");
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
