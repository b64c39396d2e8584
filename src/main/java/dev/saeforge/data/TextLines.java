package dev.saeforge.data;

import java.io.IOException;

/** Plain text: each line is a document, as Hugging Face's text loader splits it; blank lines give nothing. */
final class TextLines implements RowReader {
    private final BoundedLines lines;

    TextLines(BoundedLines lines) {
        this.lines = lines;
    }

    @Override
    public Row next() throws IOException {
        BoundedLines.Line line = lines.next();
        if (line == null) {
            return null;
        }
        if (line.problem() != null) {
            return Row.malformed(line.problem());
        }
        return line.text().isBlank() ? Row.BLANK : Row.of(line.text());
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
