package dev.saeforge.data;

import java.io.BufferedReader;
import java.io.IOException;

/** Plain text: each line is a document, as Hugging Face's text loader splits it; blank lines give nothing. */
final class TextLines implements RowReader {
    private final BufferedReader lines;

    TextLines(BufferedReader lines) {
        this.lines = lines;
    }

    @Override
    public Row next() throws IOException {
        String line = lines.readLine();
        if (line == null) {
            return null;
        }
        return line.isBlank() ? Row.BLANK : Row.of(line);
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
