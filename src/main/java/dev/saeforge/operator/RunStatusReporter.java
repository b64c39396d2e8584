package dev.saeforge.operator;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.SaeStatus;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The trainer's side of the status: {@code saeforge train --run NAMESPACE/NAME} calls
 * {@link #report} at an interval, and each call patches the run's status subresource with the
 * progress fields only ({@link TrainingRunStatus#TRAINER_FIELDS}), so the phase, conditions and
 * attempt counts the operator writes are never overwritten. A failed report is not fatal to
 * training: the caller logs it and reports again at the next interval.
 */
public final class RunStatusReporter {
    /** Checkpoints listed in the status, newest last; older ones stay in the checkpoint store. */
    public static final int MAX_CHECKPOINTS = 50;

    /**
     * One progress report. Metrics not measured yet are null and leave the previous value in place.
     *
     * @param tokensTrained  activation rows trained on so far, over all attempts
     * @param trainingTokens the run's token budget (spec.training.tokens)
     * @param eta            estimated time to completion, or null
     * @param saes           each SAE's figures in the run's order; empty before the first step
     * @param lastCheckpoint URI of the newest complete checkpoint, or null
     */
    public record Progress(long tokensTrained, long trainingTokens, double tokensPerSecond, Duration eta,
                           List<SaeProgress> saes, String lastCheckpoint) {
        public Progress {
            saes = List.copyOf(saes);
        }
    }

    /** One SAE's figures; null (or not finite) when not measured yet, keeping what was reported before. */
    public record SaeProgress(String name, String hook, Double l0, Double explainedVariance, Integer deadFeatures, Double ceLossScore) {
    }

    private final KubernetesClient client;
    private final RunReference run;
    private final Clock clock;
    /** The run as last read or written, which the next write is conditional on; null: read it again. */
    private TrainingRun stored;
    /** The checkpoints and SAEs listed so far: read at the first report, then what this trainer wrote. */
    private List<String> checkpoints;
    private List<SaeStatus> saes;

    public RunStatusReporter(KubernetesClient client, RunReference run, Clock clock) {
        this.client = client;
        this.run = run;
        this.clock = clock;
    }

    /**
     * Writes one report, on the run as last read or written; a write refused because the run
     * changed meanwhile (the operator wrote) is made again on a fresh read. Throws
     * {@link KubernetesClientException} when the API server refuses it otherwise; the next report
     * then starts from a fresh read, so one failure never dooms the ones after it.
     */
    public void report(Progress progress) {
        for (int tries = 1; ; tries++) {
            if (stored == null) {
                read();
            }
            try {
                write(progress);
                return;
            } catch (KubernetesClientException e) {
                stored = null;
                if (!StatusPatch.isConflict(e) || tries > Reconciler.CONFLICT_RETRIES) {
                    throw e;
                }
            }
        }
    }

    private void read() {
        TrainingRun read = client.resources(TrainingRun.class).inNamespace(run.namespace()).withName(run.name()).get();
        if (read == null) {
            throw new KubernetesClientException("TrainingRun " + run + " does not exist", 404, null);
        }
        if (checkpoints == null) {
            // A resumed attempt continues the lists its predecessors wrote.
            checkpoints = read.getStatus() == null ? List.of() : List.copyOf(read.getStatus().checkpoints);
            saes = read.getStatus() == null ? List.of() : List.copyOf(read.getStatus().saes);
        }
        stored = read;
    }

    private void write(Progress progress) {
        ObjectNode fields = Mappers.json().createObjectNode();
        fields.put("tokensTrained", progress.tokensTrained());
        if (progress.trainingTokens() > 0) {
            double percent = Math.floor(1000.0 * progress.tokensTrained() / progress.trainingTokens()) / 10;
            fields.put("progress", String.format(Locale.ROOT, "%.1f%%", Math.min(percent, 100.0)));
        }
        putFinite(fields, "tokensPerSecond", progress.tokensPerSecond());
        if (progress.eta() != null) {
            fields.put("eta", Durations.human(progress.eta()));
        }
        List<SaeStatus> reported = progress.saes().isEmpty() ? saes : withProgress(saes, progress.saes());
        if (!progress.saes().isEmpty()) {
            fields.set("saes", Mappers.json().valueToTree(reported));
        }
        if (reported.size() == 1) {
            // The run-level figures are a single-SAE run's; with several SAEs there is no one L0 to show.
            SaeStatus only = reported.get(0);
            putFinite(fields, "l0", only.l0);
            putFinite(fields, "explainedVariance", only.explainedVariance);
            if (only.deadFeatures != null) {
                fields.put("deadFeatures", only.deadFeatures);
            }
        }
        List<String> listed = checkpoints;
        if (progress.lastCheckpoint() != null) {
            fields.put("lastCheckpoint", progress.lastCheckpoint());
            listed = withCheckpoint(checkpoints, progress.lastCheckpoint());
            ArrayNode array = fields.putArray("checkpoints");
            listed.forEach(array::add);
        }
        fields.put("lastProgressTime", clock.instant().toString());
        // Only the fields reported now are written; what was not measured keeps its last value.
        stored = StatusPatch.write(client, stored, Mappers.json().createObjectNode(), fields);
        checkpoints = listed;
        saes = reported;
    }

    /** The SAEs as reported now, each figure not measured yet taken from the same SAE's entry in {@code known}. */
    static List<SaeStatus> withProgress(List<SaeStatus> known, List<SaeProgress> reported) {
        List<SaeStatus> out = new ArrayList<>();
        for (SaeProgress sae : reported) {
            SaeStatus before = known.stream().filter(k -> sae.name().equals(k.name)).findFirst().orElseGet(SaeStatus::new);
            SaeStatus now = new SaeStatus();
            now.name = sae.name();
            now.hook = sae.hook();
            now.l0 = finiteOr(sae.l0(), before.l0);
            now.explainedVariance = finiteOr(sae.explainedVariance(), before.explainedVariance);
            now.deadFeatures = sae.deadFeatures() != null ? sae.deadFeatures() : before.deadFeatures;
            now.ceLossScore = finiteOr(sae.ceLossScore(), before.ceLossScore);
            out.add(now);
        }
        return out;
    }

    private static Double finiteOr(Double value, Double otherwise) {
        return value != null && Double.isFinite(value) ? value : otherwise;
    }

    /** The checkpoint list with {@code uri} appended unless it is already the newest, the latest MAX_CHECKPOINTS. */
    static List<String> withCheckpoint(List<String> known, String uri) {
        List<String> listed = new ArrayList<>(known);
        if (listed.isEmpty() || !listed.getLast().equals(uri)) {
            listed.add(uri);
        }
        return listed.size() > MAX_CHECKPOINTS ? List.copyOf(listed.subList(listed.size() - MAX_CHECKPOINTS, listed.size())) : listed;
    }

    private static void putFinite(ObjectNode fields, String name, Double value) {
        if (value != null && Double.isFinite(value)) {
            fields.put(name, value);
        }
    }
}
