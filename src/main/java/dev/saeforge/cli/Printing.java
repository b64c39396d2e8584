package dev.saeforge.cli;

import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.Problem;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;

import java.io.PrintWriter;
import java.util.List;

/** Prints the way kubectl does: documents (YAML separated by ---, JSON as one object or a List), tables, sizes. */
final class Printing {
    private Printing() {
    }

    /** Every problem of an invalid spec, one per line, as FILE: FIELD: MESSAGE. */
    static void problems(PrintWriter err, InvalidSpecException e) {
        for (Problem problem : e.problems()) {
            err.println(e.source() + ": " + problem);
        }
    }

    static void print(PrintWriter out, List<TrainingRun> runs, OutputFormat format) {
        switch (format) {
            case yaml -> {
                for (int i = 0; i < runs.size(); i++) {
                    if (i > 0) {
                        out.println("---");
                    }
                    out.print(TrainingRuns.toYaml(runs.get(i)));
                }
            }
            case json -> {
                if (runs.size() == 1) {
                    out.println(TrainingRuns.toJson(runs.get(0)));
                } else {
                    out.println("{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [");
                    for (int i = 0; i < runs.size(); i++) {
                        out.print(TrainingRuns.toJson(runs.get(i)));
                        out.println(i + 1 < runs.size() ? "," : "");
                    }
                    out.println("]}");
                }
            }
        }
    }

    /** Rows as aligned columns, three spaces apart, as kubectl prints tables. */
    static void table(PrintWriter out, List<String[]> rows) {
        Columns.print(out, rows.stream().map(List::of).toList(), 3, "");
    }

    /** A byte count in binary units: 512B, 4.0KiB, 20.1MiB, 1.5GiB. */
    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + "B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit + 1 < units.length) {
            value /= 1024;
            unit++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f%s", value, units[unit]);
    }
    /** One document that is not a TrainingRun (e.g. a benchmark's figures) as yaml or json. */
    static void printDocument(PrintWriter out, Object document, OutputFormat format) {
        try {
            out.print(switch (format) {
                case yaml -> Mappers.yaml().writeValueAsString(document);
                case json -> Mappers.json().writeValueAsString(document) + System.lineSeparator();
            });
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot print " + document.getClass().getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }
}
