package dev.saeforge.cli;

import dev.saeforge.api.CacheStatus;
import dev.saeforge.api.SaeDefinition;
import dev.saeforge.api.SaeStatus;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.operator.Durations;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** TrainingRuns as kubectl prints resources: upper-case headers, columns three spaces apart, "-" for unknown. */
final class RunTable {
    static final List<String> COLUMNS = List.of("NAME", "PHASE", "SAES", "PROGRESS", "TOKENS/S", "L0", "EXPL-VAR", "AGE");
    static final List<String> WIDE_COLUMNS = List.of("RESTARTS", "ETA", "DEAD", "JOB", "HOOK");
    /** A run's SAEs, a row each: what its spec says of it and where status.saes says it stands. */
    static final List<String> SAE_COLUMNS = List.of("SAE", "HOOK", "ARCHITECTURE", "D_SAE", "SPARSITY", "L0", "EXPL-VAR", "DEAD", "CE-SCORE");
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
        List<SaeDefinition> saes = saes(run);
        row.add(saes.isEmpty() ? NONE : Integer.toString(saes.size()));
        row.add(progress(status));
        row.add(status.tokensPerSecond == null ? NONE : Units.count(Math.round(status.tokensPerSecond)));
        row.add(l0(status.l0));
        row.add(explainedVariance(status.explainedVariance));
        row.add(age(run, now));
        if (wide) {
            row.add((status.restarts == null ? 0 : status.restarts) + "/" + run.getSpec().maxRestarts);
            row.add(status.eta == null ? NONE : status.eta);
            row.add(orNone(status.deadFeatures));
            row.add(status.jobName == null ? NONE : status.jobName);
            row.add(hooks(run, saes));
        }
        return row;
    }

    /** The header and a row per SAE of {@code run} (SAE_COLUMNS); just the header when its spec names no valid SAEs. */
    static List<List<String>> saeRows(TrainingRun run) {
        List<SaeStatus> reported = run.getStatus() == null ? List.of() : run.getStatus().saes;
        List<List<String>> rows = new ArrayList<>();
        rows.add(SAE_COLUMNS);
        for (SaeDefinition sae : saes(run)) {
            Map<String, Object> spec = sae.describe();
            SaeStatus status = reported.stream().filter(s -> sae.name().equals(s.name)).findFirst().orElseGet(SaeStatus::new);
            rows.add(List.of(sae.name(), hook(run, sae), String.valueOf(spec.get("architecture")), String.valueOf(spec.get("dSae")),
                    sae.sparsityField() + "=" + spec.get(sae.sparsityField()), l0(status.l0), explainedVariance(status.explainedVariance),
                    orNone(status.deadFeatures), status.ceLossScore == null ? NONE : String.format(Locale.ROOT, "%.3f", status.ceLossScore)));
        }
        return rows;
    }

    /** The run's SAEs as its spec defines them; none when the stored spec does not define them validly. */
    static List<SaeDefinition> saes(TrainingRun run) {
        try {
            return SaeDefinition.all(run);
        } catch (IllegalArgumentException e) {
            return List.of(); // stored without validation (kubectl apply of a bad spec): the operator reports why
        }
    }

    /** The hooks the run's SAEs read, each once, in order: "blocks.28.hook_mlp_out,blocks.20.hook_resid_post". */
    private static String hooks(TrainingRun run, List<SaeDefinition> saes) {
        LinkedHashSet<String> hooks = new LinkedHashSet<>();
        saes.forEach(sae -> hooks.add(hook(run, sae)));
        return hooks.isEmpty() ? NONE : String.join(",", hooks);
    }

    private static String hook(TrainingRun run, SaeDefinition sae) {
        return run.getSpec().synthetic != null ? "synthetic" : sae.hook() == null ? NONE : sae.hook();
    }

    /** The cache's indexes while they are generated ("cache 3/8"), then the share of the tokens trained. */
    static String progress(TrainingRunStatus status) {
        if (status.cache != null && status.cache.phase != CacheStatus.Phase.Succeeded && status.progress == null) {
            return "cache " + status.cache.progress();
        }
        return status.progress == null ? NONE : status.progress;
    }

    private static String l0(Double value) {
        return value == null ? NONE : String.format(Locale.ROOT, "%.1f", value);
    }

    private static String explainedVariance(Double value) {
        return value == null ? NONE : String.format(Locale.ROOT, "%.3f", value);
    }

    private static String orNone(Object value) {
        return value == null ? NONE : value.toString();
    }

    void print(PrintWriter out, List<String> cells) {
        columns.print(out, cells);
    }

    static String age(TrainingRun run, Instant now) {
        String created = run.getMetadata().getCreationTimestamp();
        return created == null ? NONE : Durations.human(Duration.between(OffsetDateTime.parse(created).toInstant(), now));
    }
}
