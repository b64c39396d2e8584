package dev.saeforge.data;

import dev.hardwood.Hardwood;
import dev.hardwood.InputFile;
import dev.hardwood.metadata.PhysicalType;
import dev.hardwood.reader.ParquetFileReader;
import dev.hardwood.schema.ColumnProjection;
import dev.hardwood.schema.ColumnSchema;

import java.io.IOException;
import java.util.List;

/** A Parquet table read with hardwood, only its text column. */
final class ParquetRows implements RowReader {
    private final Hardwood hardwood;
    private final ParquetFileReader file;
    private final dev.hardwood.reader.RowReader rows;
    private final String textField;

    ParquetRows(java.nio.file.Path path, String name, String textField, long skip) throws IOException {
        this.textField = textField;
        this.hardwood = Hardwood.create();
        ParquetFileReader opened = null;
        try {
            opened = hardwood.open(InputFile.of(path));
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

    @Override
    public Row next() {
        if (!rows.hasNext()) {
            return null;
        }
        rows.next();
        if (rows.isNull(textField)) {
            return Row.malformed("has a null \"" + textField + "\"");
        }
        return Row.of(rows.getString(textField));
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
