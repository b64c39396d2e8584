package dev.saeforge.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;

import java.io.PrintWriter;
import java.util.List;

/** Prints documents the way kubectl does: YAML separated by ---, JSON as one object or a List. */
final class Printing {
    private Printing() {
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
