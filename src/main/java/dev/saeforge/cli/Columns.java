package dev.saeforge.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;

/** Left-aligned text columns, kubectl style; widths grow with the widest cell seen so far. */
final class Columns {
    private final int gap;
    private final String indent;
    private int[] widths = new int[0];

    Columns(int gap, String indent) {
        this.gap = gap;
        this.indent = indent;
    }

    /** Prints rows aligned to each other: a whole table at once. */
    static void print(PrintWriter out, List<List<String>> rows, int gap, String indent) {
        Columns columns = new Columns(gap, indent);
        rows.forEach(columns::widen);
        rows.forEach(row -> columns.print(out, row));
    }

    void widen(List<String> cells) {
        if (widths.length < cells.size()) {
            widths = Arrays.copyOf(widths, cells.size());
        }
        for (int i = 0; i < cells.size(); i++) {
            widths[i] = Math.max(widths[i], cells.get(i).length());
        }
    }

    /** Prints one row; a row wider than the ones before widens its columns from here on. */
    void print(PrintWriter out, List<String> cells) {
        widen(cells);
        StringBuilder line = new StringBuilder(indent);
        for (int i = 0; i < cells.size(); i++) {
            line.append(cells.get(i));
            if (i + 1 < cells.size()) {
                line.append(" ".repeat(widths[i] - cells.get(i).length() + gap));
            }
        }
        out.println(line);
    }
}
