package dev.saeforge.operator;

import dev.saeforge.api.CacheStatus;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.Problem;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.api.TrainingRunStatus.Phase;
import dev.saeforge.api.TrainingRuns;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The operator's decisions as a pure function: from a TrainingRun as stored and what its current
 * attempt's Job and pods say, the status the run should have, the Job to create or delete, and the
 * Events that record each transition. {@link Reconciler} observes and applies; nothing here talks
 * to the cluster, so every transition is tested without one.
 *
 * <p>The status is the run's memory: attempts, restarts and the phase are read back from it, and
 * Job names are {@code <run>-a<attempt>}, so repeating a reconcile, or a crash between creating a
 * Job and writing the status, never makes a second Job for one attempt.
 */
public final class Reconciliation {
    /** Condition types: each says what is true now, with a reason and a message. */
    public static final String VALID = "Valid";
    public static final String RUNNING = "Running";
    public static final String SUSPENDED = "Suspended";
    public static final String SUCCEEDED = "Succeeded";
    public static final String FAILED = "Failed";
    public static final String CANCELLED = "Cancelled";
    /** True once every index of the cache Job succeeded (spec.activations.parallelism). */
    public static final String CACHE_READY = "CacheReady";

    private Reconciliation() {
    }

    /**
     * What one reconcile looks at. {@code job} and {@code pods} belong to the attempt named in the
     * status; {@code cacheJob} is the run's cache Job, looked at only before its first attempt and on cancel.
     */
    public record Observed(TrainingRun run, Job job, List<Pod> pods, boolean trainerServiceAccountExists, Instant now, Job cacheJob) {
        /** A run without a cache Job. */
        public Observed(TrainingRun run, Job job, List<Pod> pods, boolean trainerServiceAccountExists, Instant now) {
            this(run, job, pods, trainerServiceAccountExists, now, null);
        }
    }

    /** An Event to record on the run. */
    public record RunEvent(String type, String reason, String message) {
        static RunEvent normal(String reason, String message) {
            return new RunEvent("Normal", reason, message);
        }

        static RunEvent warning(String reason, String message) {
            return new RunEvent("Warning", reason, message);
        }
    }

    /**
     * What to do, in this order: delete or create the Job, write the status, record the events.
     *
     * @param create     the Job to create, or null
     * @param delete     the name of the Job to delete, or null
     * @param deletePods pods to delete first: left running by a Job that is gone
     * @param retryLater whether to look again after a back-off although nothing will change by itself
     * @param cache      what to do with the cache Job
     */
    public record Plan(TrainingRunStatus status, Job create, String delete, List<String> deletePods, List<RunEvent> events,
                       boolean retryLater, CacheAction cache) {
    }

    /**
     * What to do with the run's cache Job, before anything else: create it, delete it, or set its
     * spec.suspend (null: leave it as it is).
     */
    public record CacheAction(Job create, String delete, Boolean suspend) {
        static final CacheAction NONE = new CacheAction(null, null, null);
    }

    /** Which budget a new attempt is counted against. */
    private enum Counted {
        /** The first attempt, or one resuming after a suspend. */
        NOTHING,
        /** After an attempt that ended without progress: spec.maxRestarts. */
        RESTART,
        /** After an attempt that ended with progress: spec.maxPreemptions. */
        PREEMPTION
    }

    public static Plan plan(Observed observed, OperatorConfig config) {
        Draft draft = new Draft(observed);
        TrainingRun run = observed.run();
        TrainingRunStatus old = draft.old;
        Attempt attempt = Attempt.observe(old.jobName, observed.job(), observed.pods(), old.lastCheckpoint);

        if (isFinal(old, run)) {
            // A finished run keeps its status; a Job still going (a cancel that raced a creation) is stopped.
            if (old.phase != Phase.Succeeded && attempt.active()) {
                draft.delete = attempt.job();
            }
            if (old.phase != Phase.Succeeded && CacheJobs.running(observed.cacheJob())) {
                draft.cache = new CacheAction(null, observed.cacheJob().getMetadata().getName(), null);
            }
            return draft.plan();
        }
        Attempt.State state = attempt.state();
        // Before anything else: a finished Job may be removed (ttlSecondsAfterFinished) once this is recorded.
        if (state == Attempt.State.SUCCEEDED) {
            draft.condition(RUNNING, false, "Succeeded", attempt.message());
            draft.condition(SUCCEEDED, true, attempt.reason(), attempt.message());
            return draft.finish(Phase.Succeeded, RunEvent.normal("Succeeded", attempt.message()));
        }
        if (run.getSpec().cancel) {
            return cancel(draft, attempt);
        }
        // Once started, the spec is fixed but for what steers the run (SpecLock): an edit that got past
        // the CRD's rules is refused; the running attempt goes on, and start() starts none from it.
        String specChange = SpecLock.refusal(run);
        if (specChange != null) {
            if (!draft.hasCondition(SpecLock.CONDITION, SpecLock.CHANGED)) {
                draft.events.add(RunEvent.warning(SpecLock.CONDITION, specChange));
            }
            draft.condition(SpecLock.CONDITION, true, SpecLock.CHANGED, specChange);
        } else if (draft.hasCondition(SpecLock.CONDITION, SpecLock.CHANGED)) {
            draft.condition(SpecLock.CONDITION, false, SpecLock.RESTORED, "The spec is again the one the run started from");
        }
        List<Problem> problems = problems(run);
        if (problems.isEmpty()) {
            draft.condition(VALID, true, "SpecValid", "The spec passed validation");
        } else {
            String message = problems.stream().map(Problem::toString).collect(Collectors.joining("; "));
            if (!attempt.active()) {
                draft.condition(VALID, false, "InvalidSpec", message);
                return draft.fail("InvalidSpec", "The spec is invalid; no Job is started from it: " + message);
            }
            // Edited into an invalid spec while an attempt runs: that attempt read the spec when it
            // started and goes on; no new attempt starts from the invalid spec.
            if (!draft.hasCondition(VALID, "InvalidSpec") || !message.equals(draft.conditionMessage(VALID))) {
                draft.events.add(RunEvent.warning("InvalidSpec", "The spec became invalid while Job " + attempt.job()
                        + " runs; no new attempt will start until it is fixed: " + message));
            }
            draft.condition(VALID, false, "InvalidSpec", message);
        }

        boolean wasSuspended = old.phase == Phase.Suspended;
        if (state == Attempt.State.FATAL && !wasSuspended) {
            return draft.fail(attempt.reason(), attempt.message());
        }
        if (run.getSpec().suspend) {
            return suspend(draft, attempt);
        }
        if (wasSuspended && state != Attempt.State.STOPPING) {
            draft.condition(SUSPENDED, false, "Resumed", "spec.suspend was set to false");
        }
        return switch (state) {
            case NOT_STARTED -> TrainingJobs.buildsCacheFirst(run) ? generateCache(draft, config, wasSuspended)
                    : start(draft, config, 1, Counted.NOTHING, wasSuspended ? "Resumed" : "JobCreated", "Created Job %s for attempt %d");
            case STOPPING -> {
                if (!wasSuspended) {
                    draft.phase(Phase.Pending);
                }
                // A pod its Job left behind would train beside the next attempt: stop it (the trainer checkpoints on SIGTERM).
                draft.deletePods = Attempt.orphans(observed.job(), observed.pods());
                if (!draft.deletePods.isEmpty()) {
                    draft.events.add(RunEvent.warning("OrphanedPod", "Job " + attempt.job() + " is gone, but its pod "
                            + String.join(", ", draft.deletePods) + " still runs; deleting it, so that no new attempt trains beside it"));
                }
                draft.condition(RUNNING, false, attempt.reason(), attempt.message() + "; the next attempt starts when it is gone");
                yield draft.plan();
            }
            case MISSING, RETRYABLE, FATAL -> wasSuspended
                    // The attempt ended because the run was suspended: resuming is not a restart.
                    ? start(draft, config, draft.attempts() + 1, Counted.NOTHING, "Resumed",
                    "Created Job %s for attempt %d, resuming from the last checkpoint")
                    : restart(draft, config, attempt);
            case WAITING -> {
                draft.phase(Phase.Pending);
                draft.condition(RUNNING, false, attempt.reason(), attempt.message());
                yield draft.plan();
            }
            case RUNNING -> {
                if (old.startTime == null) {
                    draft.status.startTime = draft.now;
                }
                draft.condition(RUNNING, true, attempt.reason(), attempt.message());
                if (old.phase != Phase.Running) {
                    draft.events.add(RunEvent.normal("Running", attempt.message()));
                }
                draft.phase(Phase.Running);
                yield draft.plan();
            }
            case SUCCEEDED -> throw new IllegalStateException("handled above");
        };
    }

    /**
     * The API server refused the Job a plan asked for: the status says so (not only an Event),
     * nothing else changes, and the reconcile is retried after a back-off.
     */
    public static Plan creationFailed(Observed observed, String jobName, String error) {
        Draft draft = new Draft(observed);
        String message = "Could not create Job " + jobName + ": " + error + "; retrying";
        if (!draft.hasCondition(RUNNING, "JobCreateFailed") || !message.equals(draft.conditionMessage(RUNNING))) {
            draft.events.add(RunEvent.warning("JobCreateFailed", message));
        }
        if (draft.status.phase == null) {
            draft.phase(Phase.Pending);
        }
        draft.condition(RUNNING, false, "JobCreateFailed", message);
        draft.retryLater = true;
        return draft.plan();
    }

    /**
     * A run whose status is final stays as it is, except one that failed only because its spec was
     * invalid: once the spec changes (a new generation), it is looked at again.
     */
    static boolean isFinal(TrainingRunStatus status, TrainingRun run) {
        if (status.phase == null || !status.phase.isFinal()) {
            return false;
        }
        boolean invalidOnly = status.attempts == null && status.conditions.stream()
                .anyMatch(c -> FAILED.equals(c.getType()) && "InvalidSpec".equals(c.getReason()));
        return !(invalidOnly && !Objects.equals(status.observedGeneration, run.getMetadata().getGeneration()));
    }

    /** Every problem in the stored spec, by the same rules as saeforge submit. */
    static List<Problem> problems(TrainingRun run) {
        com.fasterxml.jackson.databind.node.ObjectNode document = Mappers.json().valueToTree(run);
        document.remove("status");
        try {
            return TrainingRuns.clusterProblems(TrainingRuns.validate(document, "TrainingRun " + TrainingJobs.runReference(run)).getSpec());
        } catch (InvalidSpecException e) {
            return e.problems();
        }
    }

    private static Plan cancel(Draft draft, Attempt attempt) {
        String message = "Cancelled on request (spec.cancel)";
        Job cacheJob = draft.observed.cacheJob();
        // A finished cache Job goes too: what it generated stays in the cache's storage.
        if (cacheJob != null && cacheJob.getMetadata().getDeletionTimestamp() == null) {
            draft.cache = new CacheAction(null, cacheJob.getMetadata().getName(), null);
            message += "; deleted cache Job " + cacheJob.getMetadata().getName();
        }
        if (attempt.active()) {
            draft.delete = attempt.job();
            message += "; deleted Job " + attempt.job();
        }
        draft.condition(RUNNING, false, "Cancelled", message);
        draft.condition(CANCELLED, true, "CancelRequested", message);
        return draft.finish(Phase.Cancelled, RunEvent.normal("Cancelled", message));
    }

    private static Plan suspend(Draft draft, Attempt attempt) {
        String message;
        Job cacheJob = draft.observed.cacheJob();
        if (attempt.active()) {
            draft.delete = attempt.job();
            message = "Suspended (spec.suspend): deleted Job " + attempt.job() + "; the trainer checkpoints on SIGTERM";
        } else if (attempt.state() == Attempt.State.NOT_STARTED && CacheJobs.running(cacheJob)) {
            // A suspended Job stops its pods and keeps its completed indexes; unsuspended, it runs the others again.
            if (!CacheJobs.suspended(cacheJob)) {
                draft.cache = new CacheAction(null, null, true);
            }
            message = "Suspended (spec.suspend): suspended cache Job " + cacheJob.getMetadata().getName() + "; its indexes that "
                    + "succeeded stay done, the others run again on resume";
            draft.status.cache = CacheJobs.status(cacheJob, CacheStatus.Phase.Suspended);
        } else if (attempt.state() == Attempt.State.NOT_STARTED) {
            message = "Suspended (spec.suspend) before the first attempt";
        } else {
            message = "Suspended (spec.suspend) after attempt " + draft.attempts();
        }
        if (draft.old.phase == Phase.Suspended) {
            // Keep the words of the transition; later reconciles have nothing new to say.
            message = Objects.requireNonNullElse(draft.conditionMessage(SUSPENDED), message);
        } else {
            draft.events.add(RunEvent.normal("Suspended", message));
        }
        draft.condition(RUNNING, false, "Suspended", message);
        draft.condition(SUSPENDED, true, "SuspendRequested", message);
        draft.phase(Phase.Suspended);
        return draft.plan();
    }

    /**
     * A retryable end of an attempt: a new attempt that resumes. One that ended with progress (a
     * preemption, or a checkpoint and exit 75) is counted against spec.maxPreemptions, unlimited
     * by default; only one that ended without progress is counted against spec.maxRestarts.
     */
    private static Plan restart(Draft draft, OperatorConfig config, Attempt attempt) {
        TrainingRunStatus old = draft.old;
        String ended = "Attempt " + draft.attempts() + ": " + attempt.message();
        if (madeProgress(old)) {
            int preemptions = count(old.preemptions);
            Integer maxPreemptions = draft.run.getSpec().maxPreemptions;
            if (maxPreemptions != null && preemptions >= maxPreemptions) {
                return draft.fail("PreemptionBudgetExhausted", ended + "; it checkpointed " + old.lastCheckpoint
                        + ", but no preemptions are left (spec.maxPreemptions is " + maxPreemptions + ")");
            }
            return start(draft, config, draft.attempts() + 1, Counted.PREEMPTION, "Preempted",
                    ended + "; it checkpointed " + old.lastCheckpoint + "; created Job %s for attempt %d, resuming from it (preemption "
                            + (preemptions + 1) + (maxPreemptions == null ? "" : " of " + maxPreemptions) + ")");
        }
        int restarts = count(old.restarts);
        int maxRestarts = draft.run.getSpec().maxRestarts;
        String noProgress = old.lastCheckpoint == null ? "; no checkpoint yet" : "; no checkpoint after " + old.lastCheckpoint;
        if (restarts >= maxRestarts) {
            return draft.fail("RestartBudgetExhausted", ended + noProgress + "; no restarts left (spec.maxRestarts is " + maxRestarts + ")");
        }
        return start(draft, config, draft.attempts() + 1, Counted.RESTART, "Restarting",
                ended + noProgress + "; created Job %s for attempt %d, resuming from the last checkpoint (restart " + (restarts + 1)
                        + " of " + maxRestarts + ")");
    }

    /**
     * Whether the current attempt left a checkpoint newer than the one it started from, as the
     * trainer reported it (status.lastCheckpoint, reported before it exits). Steps trained since
     * the last checkpoint are lost at a restart, so they are not progress.
     */
    static boolean madeProgress(TrainingRunStatus status) {
        return status.lastCheckpoint != null && !status.lastCheckpoint.equals(status.attemptStartCheckpoint);
    }

    private static int count(Integer counter) {
        return counter == null ? 0 : counter;
    }

    /**
     * Before the first attempt of a run with spec.activations.parallelism: its cache Job is
     * created, watched while its indexes run (Kubernetes retries a failed index alone), and once
     * every index succeeded the first attempt starts; a Job that failed fails the run.
     */
    private static Plan generateCache(Draft draft, OperatorConfig config, boolean resumed) {
        TrainingRun run = draft.run;
        Job job = draft.observed.cacheJob();
        CacheStatus before = draft.old.cache;
        if (job == null && before != null && before.phase == CacheStatus.Phase.Succeeded) {
            // The cache was complete and its Job has been removed since (ttlSecondsAfterFinished).
            return start(draft, config, 1, Counted.NOTHING, "JobCreated", "Created Job %s for attempt %d");
        }
        if (job == null) {
            Plan blocked = blocked(draft);
            if (blocked != null) {
                return blocked;
            }
            Job created = TrainingJobs.desiredCache(run, config);
            String name = created.getMetadata().getName();
            int indexes = created.getSpec().getCompletions();
            String message = (before == null ? "Created" : "Cache Job " + name + " was deleted before it finished; created it again:")
                    + " cache Job " + name + ": " + indexes + " pods generate the activation cache "
                    + run.getSpec().activations.cache.uri + " before training starts";
            draft.cache = new CacheAction(created, null, null);
            draft.status.specHash = SpecLock.hash(run.getSpec());
            draft.status.cache = CacheJobs.status(created, CacheStatus.Phase.Pending);
            draft.phase(Phase.Pending);
            draft.condition(CACHE_READY, false, "CacheJobCreated", message);
            draft.condition(RUNNING, false, "GeneratingCache", message);
            draft.events.add(RunEvent.normal(resumed ? "Resumed" : "CacheJobCreated", message));
            return draft.plan();
        }
        String name = job.getMetadata().getName();
        if (job.getMetadata().getDeletionTimestamp() != null) {
            draft.phase(Phase.Pending);
            draft.condition(RUNNING, false, "CacheJobStopping", "Cache Job " + name + " is being deleted; it is created again when it is gone");
            return draft.plan();
        }
        if (CacheJobs.condition(job, "Complete") != null) {
            CacheStatus done = CacheJobs.status(job, CacheStatus.Phase.Succeeded);
            draft.status.cache = done;
            String message = "All " + done.indexes + " indexes of cache Job " + name + " succeeded: the activation cache "
                    + run.getSpec().activations.cache.uri + " is complete";
            draft.condition(CACHE_READY, true, "CacheComplete", message);
            draft.events.add(RunEvent.normal("CacheReady", message));
            return start(draft, config, 1, Counted.NOTHING, "JobCreated", "Created Job %s for attempt %d, which trains from the cache");
        }
        JobCondition failed = CacheJobs.condition(job, "Failed");
        if (failed != null) {
            CacheStatus lost = CacheJobs.status(job, CacheStatus.Phase.Failed);
            draft.status.cache = lost;
            String message = "Cache Job " + name + " failed (" + failed.getReason()
                    + (failed.getMessage() == null ? "" : ": " + failed.getMessage()) + "): "
                    + (lost.failed == null ? "" : "indexes " + lost.failed + " failed after " + TrainingJobs.CACHE_RETRIES_PER_INDEX
                    + " retries each (backoffLimitPerIndex); ")
                    + (lost.succeeded == null ? "no index succeeded" : "indexes " + lost.succeeded + " succeeded and stay in the cache")
                    + "; no training Job was started";
            draft.condition(CACHE_READY, false, "CacheJobFailed", message);
            return draft.fail("CacheJobFailed", message);
        }
        CacheStatus now = CacheJobs.status(job, CacheStatus.Phase.Pending);
        boolean resuming = CacheJobs.suspended(job);
        if (resuming) {
            // The run is not suspended (that was decided before): the Job resumes.
            draft.cache = new CacheAction(null, null, false);
            draft.events.add(RunEvent.normal("Resumed", "Resumed cache Job " + name));
        }
        now.phase = now.active != null && now.active > 0 || CacheStatus.count(now.succeeded) > 0
                ? CacheStatus.Phase.Running : CacheStatus.Phase.Pending;
        draft.status.cache = now;
        String message = "Generating the activation cache: cache Job " + name + ", " + now.progress() + " indexes succeeded"
                + (now.failed == null ? "" : ", indexes " + now.failed + " failed")
                + ", " + (now.active == null ? 0 : now.active) + " pods running";
        boolean running = now.phase == CacheStatus.Phase.Running;
        draft.condition(CACHE_READY, false, "Generating", message);
        draft.condition(RUNNING, running, "GeneratingCache", message);
        if (running && draft.old.phase != Phase.Running && !resuming) {
            draft.events.add(RunEvent.normal("GeneratingCache", message));
        }
        int pods = now.podFailures == null ? 0 : now.podFailures;
        int podsBefore = before == null || before.podFailures == null ? 0 : before.podFailures;
        if (pods > podsBefore) {
            draft.events.add(RunEvent.warning("CachePodFailed", (pods - podsBefore) + " pod(s) of cache Job " + name + " failed ("
                    + pods + " so far); Kubernetes runs their indexes again, alone (at most " + TrainingJobs.CACHE_RETRIES_PER_INDEX
                    + " retries an index)"));
        }
        if (now.failed != null && (before == null || !now.failed.equals(before.failed))) {
            draft.events.add(RunEvent.warning("CacheIndexFailed", "Indexes " + now.failed + " of cache Job " + name + " failed after "
                    + TrainingJobs.CACHE_RETRIES_PER_INDEX + " retries each; the other indexes go on, and the run fails when they are done"));
        }
        draft.phase(running ? Phase.Running : Phase.Pending);
        return draft.plan();
    }

    /**
     * Why no Job can be created now, as a plan that says so and looks again later; null when one can:
     * its pods need the trainer's service account, and a spec changed after the run started starts nothing.
     */
    private static Plan blocked(Draft draft) {
        TrainingRun run = draft.run;
        if (!draft.observed.trainerServiceAccountExists()) {
            String message = "The trainer's service account, Role and RoleBinding " + run.getMetadata().getNamespace() + "/"
                    + TrainerAccess.name(run) + " could not be created, or one of that name belongs to something else; the trainer "
                    + "needs them to read its run and report progress (the operator's log says why; its RBAC is in k8s/ or the Helm chart)";
            if (!draft.hasCondition(RUNNING, "TrainerServiceAccountMissing")) {
                draft.events.add(RunEvent.warning("TrainerServiceAccountMissing", message));
            }
            draft.condition(RUNNING, false, "TrainerServiceAccountMissing", message);
            draft.retryLater = true;
            return draft.plan();
        }
        if (SpecLock.refusal(run) != null) {
            draft.condition(RUNNING, false, SpecLock.CONDITION, "No new attempt starts from a spec changed after the run started; "
                    + "change it back, or submit a new run");
            return draft.plan();
        }
        return null;
    }

    /**
     * Starts attempt {@code number}: its Job is created before the status names it, so a crash in
     * between leaves a Job the next reconcile finds by its name, not a second one.
     *
     * @param messageFormat formatted with the Job name and the attempt number
     */
    private static Plan start(Draft draft, OperatorConfig config, int number, Counted counted, String reason, String messageFormat) {
        TrainingRun run = draft.run;
        draft.phase(Phase.Pending);
        Plan blocked = blocked(draft);
        if (blocked != null) {
            return blocked;
        }
        Job job = TrainingJobs.desired(run, number, config);
        String message = String.format(messageFormat, job.getMetadata().getName(), number);
        draft.create = job;
        draft.status.specHash = SpecLock.hash(run.getSpec());
        draft.status.attempts = number;
        draft.status.jobName = job.getMetadata().getName();
        draft.status.restarts = count(draft.old.restarts) + (counted == Counted.RESTART ? 1 : 0);
        draft.status.preemptions = count(draft.old.preemptions) + (counted == Counted.PREEMPTION ? 1 : 0);
        draft.status.attemptStartCheckpoint = draft.old.lastCheckpoint;
        // A restart or preemption keeps its story in the status until the new pod moves on; otherwise say what the Job waits for.
        draft.condition(RUNNING, false, "JobCreated", counted != Counted.NOTHING ? message : Attempt.created(job.getMetadata().getName()));
        draft.events.add(counted == Counted.RESTART ? RunEvent.warning(reason, message) : RunEvent.normal(reason, message));
        return draft.plan();
    }

    /**
     * The status being written: a copy of the operator's fields of the stored status, changed by
     * the decision, plus the actions and events the decision needs.
     */
    private static final class Draft {
        final Observed observed;
        final TrainingRun run;
        final TrainingRunStatus old;
        final TrainingRunStatus status;
        final String now;
        final List<RunEvent> events = new ArrayList<>();
        Job create;
        String delete;
        List<String> deletePods = List.of();
        boolean retryLater;
        CacheAction cache = CacheAction.NONE;

        Draft(Observed observed) {
            this.observed = observed;
            this.run = observed.run();
            this.old = run.getStatus() == null ? new TrainingRunStatus() : run.getStatus();
            this.status = Mappers.json().convertValue(old, TrainingRunStatus.class);
            this.now = observed.now().toString();
            status.observedGeneration = run.getMetadata().getGeneration();
            status.traceId = TrainingJobs.traceId(run);
        }

        void phase(Phase phase) {
            status.phase = phase;
            if (!phase.isFinal()) {
                status.completionTime = null;
                status.conditions.removeIf(c -> FAILED.equals(c.getType()));
            }
        }

        Plan fail(String reason, String message) {
            condition(RUNNING, false, "Failed", message);
            condition(FAILED, true, reason, message);
            return finish(Phase.Failed, RunEvent.warning(reason, message));
        }

        Plan finish(Phase phase, RunEvent event) {
            if (old.phase != phase || !Objects.equals(old.message, event.message())) {
                events.add(event);
            }
            status.phase = phase;
            status.completionTime = old.phase == phase && old.completionTime != null ? old.completionTime : now;
            status.message = event.message();
            return new Plan(status, create, delete, deletePods, List.copyOf(events), retryLater, cache);
        }

        Plan plan() {
            return new Plan(status, create, delete, deletePods, List.copyOf(events), retryLater, cache);
        }

        /** Attempts started so far, as the stored status says. */
        int attempts() {
            return old.attempts == null ? 0 : old.attempts;
        }

        String conditionMessage(String type) {
            return old.conditions.stream().filter(c -> type.equals(c.getType())).map(Condition::getMessage).findFirst().orElse(null);
        }

        boolean hasCondition(String type, String reason) {
            return old.conditions.stream().anyMatch(c -> type.equals(c.getType()) && reason.equals(c.getReason()));
        }

        /**
         * Sets one condition; its lastTransitionTime moves only when its status flips. The
         * status message follows the latest condition set, which is the one the decision is about.
         */
        void condition(String type, boolean value, String reason, String message) {
            String flag = value ? "True" : "False";
            Condition existing = status.conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
            String since = existing != null && flag.equals(existing.getStatus()) ? existing.getLastTransitionTime() : now;
            Condition condition = new ConditionBuilder().withType(type).withStatus(flag).withReason(reason).withMessage(message)
                    .withLastTransitionTime(since).withObservedGeneration(run.getMetadata().getGeneration()).build();
            if (existing == null) {
                status.conditions.add(condition);
            } else {
                status.conditions.set(status.conditions.indexOf(existing), condition);
            }
            status.message = message;
        }
    }
}
