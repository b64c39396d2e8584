package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;

import java.util.ArrayList;
import java.util.List;

/** What is true about a run now: written by the operator and, for progress, by the trainer. */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public class TrainingRunStatus {
    /**
     * The fields the operator writes. Everything else is the trainer's progress report. Each side
     * patches only its own fields, so neither overwrites what the other wrote meanwhile.
     */
    public static final List<String> OPERATOR_FIELDS = List.of("phase", "conditions", "observedGeneration", "jobName",
            "attempts", "restarts", "preemptions", "attemptStartCheckpoint", "startTime", "completionTime", "traceId", "message",
            "specHash", "cache");
    /** The fields the trainer writes while it runs. */
    public static final List<String> TRAINER_FIELDS = List.of("tokensTrained", "progress", "tokensPerSecond", "eta", "l0",
            "explainedVariance", "deadFeatures", "saes", "lastCheckpoint", "checkpoints", "lastProgressTime");

    @JsonPropertyDescription("Where the run is in its life cycle.")
    public Phase phase;

    @JsonPropertyDescription("Latest observations of the run's state, with reasons and messages.")
    public List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("metadata.generation of the spec this status describes.")
    public Long observedGeneration;

    @JsonPropertyDescription("Name of the Job running the current attempt.")
    public String jobName;

    @JsonPropertyDescription("Attempts (Jobs) started for this run; the current one is the Job <run>-a<attempts>.")
    public Integer attempts;

    @JsonPropertyDescription("Attempts started after one that ended without progress: no checkpoint newer than the one it "
            + "started from (at most spec.maxRestarts).")
    public Integer restarts;

    @JsonPropertyDescription("Attempts started after one that ended with progress, a newer checkpoint: preempted, evicted, or "
            + "checkpointed and exited 75 (at most spec.maxPreemptions).")
    public Integer preemptions;

    @JsonPropertyDescription("lastCheckpoint as it was when the current attempt started: the attempt made progress when it ends "
            + "with another.")
    public String attemptStartCheckpoint;

    @JsonPropertyDescription("When the trainer first ran (RFC 3339); the time before it was spent waiting for a node.")
    public String startTime;

    @JsonPropertyDescription("When the run succeeded, failed or was cancelled (RFC 3339).")
    public String completionTime;

    @JsonPropertyDescription("Activation rows trained on so far.")
    public Long tokensTrained;

    @JsonPropertyDescription("Share of the token budget trained, e.g. 42.0%.")
    public String progress;

    @JsonPropertyDescription("Recent training throughput in activation rows per second.")
    public Double tokensPerSecond;

    @JsonPropertyDescription("Estimated time to completion, e.g. 3h12m.")
    public String eta;

    @JsonPropertyDescription("Mean number of active latents per token, recent batches; a run of one SAE only (see saes).")
    public Double l0;

    @JsonPropertyDescription("Explained variance of the reconstruction, recent batches; a run of one SAE only (see saes).")
    public Double explainedVariance;

    @JsonPropertyDescription("Latents that have not fired within the dead-feature window; a run of one SAE only (see saes).")
    public Integer deadFeatures;

    @JsonPropertyDescription("Each SAE of the run, in the run's order: its latest L0, explained variance, dead latents and CE loss score.")
    public List<SaeStatus> saes = new ArrayList<>();

    @JsonPropertyDescription("URI of the newest complete checkpoint.")
    public String lastCheckpoint;

    @JsonPropertyDescription("URIs of the checkpoints written so far, oldest first (the latest 50).")
    public List<String> checkpoints = new ArrayList<>();

    @JsonPropertyDescription("When the trainer last reported progress (RFC 3339).")
    public String lastProgressTime;

    @JsonPropertyDescription("OpenTelemetry trace id shared by submit, operator and trainer spans.")
    public String traceId;

    @JsonPropertyDescription("Human-readable summary of the current state.")
    public String message;

    @JsonPropertyDescription("SHA-256 of the spec the run started from, less the fields that may change while it runs (suspend, "
            + "cancel, maxRestarts, maxPreemptions, telemetry); set when the first Job is created. From then on the rest of the "
            + "spec is fixed.")
    public String specHash;

    @JsonPropertyDescription("The Indexed Job that generates the activation cache before training (spec.activations.parallelism):"
            + " its indexes that succeeded, failed and run.")
    public CacheStatus cache;

    public enum Phase {
        Pending, Running, Succeeded, Failed, Cancelled, Suspended;

        /** A run in a final phase never runs again. */
        public boolean isFinal() {
            return this == Succeeded || this == Failed || this == Cancelled;
        }
    }
}
