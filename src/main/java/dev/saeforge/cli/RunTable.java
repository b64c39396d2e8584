package dev.saeforge.cli;

import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.operator.Durations;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** TrainingRuns as kubectl prints resources: upper-case headers, columns three spaces apart, "-" for unknown. */
final class RunTable {
    static final List<String> COLUMNS = List.of("NAME", "PHASE", "PROGRESS", "TOKENS/S", "L0", "EXPL-VAR", "AGE");
    static final List<String> WIDE_COLUMNS = List.of("RESTARTS", "ETA", "DEAD", "JOB", "HOOK");
    private static final String NONE = "-";

    private final boolean wide;
    private final boolean namespaces;
    private final Columns columns = new Columns(3, "");

    /**
     * @param namespaces whether to lead with a NAMESPACE column (for -A)
     * @param first      the rows known now, which set the column widths; later rows may widen them
     */
    RunTable(boolean wide, boolean namespaces, List<TrainingRun> first, Instant now) {
        this.wide = wide;
        this.namespaces = namespaces;
        columns.widen(header());
        first.forEach(run -> columns.widen(row(run, now)));
    }

    List<String> header() {
        List<String> header = new ArrayList<>();
        if (namespaces) {
            header.add("NAMESPACE");
        }
        header.addAll(COLUMNS);
        if (wide) {
            header.addAll(WIDE_COLUMNS);
        }
        return header;
    }

    List<String> row(TrainingRun run, Instant now) {
        TrainingRunStatus status = run.getStatus() == null ? new TrainingRunStatus() : run.getStatus();
        List<String> row = new ArrayList<>();
        if (namespaces) {
            row.add(run.getMetadata().getNamespace());
        }
        row.add(run.getMetadata().getName());
        row.add(status.phase == null ? NONE : status.phase.name());
        row.add(status.progress == null ? NONE : status.progress);
        row.add(status.tokensPerSecond == null ? NONE : Units.count(Math.round(status.tokensPerSecond)));
        row.add(status.l0 == null ? NONE : String.format(Locale.ROOT, "%.1f", status.l0));
        row.add(status.explainedVariance == null ? NONE : String.format(Locale.ROOT, "%.3f", status.explainedVariance));
        row.add(age(run, now));
        if (wide) {
            row.add((status.restarts == null ? 0 : status.restarts) + "/" + run.getSpec().maxRestarts);
            row.add(status.eta == null ? NONE : status.eta);
            row.add(status.deadFeatures == null ? NONE : status.deadFeatures.toString());
            row.add(status.jobName == null ? NONE : status.jobName);
            row.add(run.getSpec().hook == null ? "synthetic" : run.getSpec().hook);
        }
        return row;
    }

    void print(PrintWriter out, List<String> cells) {
        columns.print(out, cells);
    }

    static String age(TrainingRun run, Instant now) {
        String created = run.getMetadata().getCreationTimestamp();
        return created == null ? NONE : Durations.human(Duration.between(OffsetDateTime.parse(created).toInstant(), now));
    }
}
