package dev.saeforge.operator;

import dev.saeforge.api.CacheStatus;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.api.TrainingRunStatus.Phase;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static dev.saeforge.operator.Fixtures.SEED;
import static dev.saeforge.operator.Fixtures.active;
import static dev.saeforge.operator.Fixtures.allIndexesComplete;
import static dev.saeforge.operator.Fixtures.complete;
import static dev.saeforge.operator.Fixtures.exitedPod;
import static dev.saeforge.operator.Fixtures.failed;
import static dev.saeforge.operator.Fixtures.failedIndexes;
import static dev.saeforge.operator.Fixtures.indexes;
import static dev.saeforge.operator.Fixtures.withStatus;
import static dev.saeforge.operator.Reconciliation.RunEvent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

/** Every transition of a run, decided without a cluster: observed state in, status, Job actions and events out. */
class ReconciliationTest {
    static final Instant T0 = Instant.parse("2026-01-01T00:05:00Z");
    final OperatorConfig config = new OperatorConfig();
    TrainingRun run;
    Instant now;
    /** The run's cache Job as the cluster holds it (spec.activations.parallelism), or null. */
    Job cacheJob;

    @BeforeEach
    void seed() throws Exception {
        run = Fixtures.storedSeedRun();
        now = T0;
    }

    Reconciliation.Plan plan(Job job, Pod... pods) {
        return plan(job, true, pods);
    }

    Reconciliation.Plan plan(Job job, boolean serviceAccount, Pod... pods) {
        Reconciliation.Plan plan = Reconciliation.plan(new Reconciliation.Observed(run, job, List.of(pods), serviceAccount, now, cacheJob), config);
        now = now.plus(Duration.ofMinutes(1));
        return plan;
    }

    /** What the Reconciler does with a plan's status: the next reconcile reads it back. */
    Reconciliation.Plan applied(Reconciliation.Plan plan) {
        run.setStatus(Mappers.json().convertValue(plan.status(), TrainingRunStatus.class));
        return plan;
    }

    /** The first attempt, created and applied: its Job as the cluster now holds it. */
    Job started() {
        return applied(plan(null)).create();
    }

    /** What the trainer writes into the status at a checkpoint (RunStatusReporter): its URI and the tokens trained. */
    void trainerCheckpointed(String name) {
        run.getStatus().lastCheckpoint = "s3://saeforge/runs/qwen3-8b-layer28-mlp/" + name;
        run.getStatus().tokensTrained = Long.parseLong(name.replace("final_", ""));
    }

    /** A pod whose Job was deleted around it: still running, or terminating. */
    static Pod deletedAround(Pod pod, String deletionTimestamp) {
        pod.getMetadata().setDeletionTimestamp(deletionTimestamp);
        return pod;
    }

    static Condition condition(TrainingRunStatus status, String type) {
        return status.conditions.stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    @Test
    void aNewRunGetsItsFirstJobAndIsPending() {
        Reconciliation.Plan plan = plan(null);

        assertThat(plan.create().getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a1");
        assertThat(plan.delete()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Pending);
        assertThat(plan.status().attempts).isEqualTo(1);
        assertThat(plan.status().restarts).isZero();
        assertThat(plan.status().jobName).isEqualTo("qwen3-8b-layer28-mlp-a1");
        assertThat(plan.status().observedGeneration).isEqualTo(1L);
        assertThat(plan.status().traceId).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(condition(plan.status(), "Valid").getStatus()).isEqualTo("True");
        assertThat(condition(plan.status(), "Running").getReason()).isEqualTo("JobCreated");
        assertThat(plan.events()).containsExactly(RunEvent.normal("JobCreated", "Created Job qwen3-8b-layer28-mlp-a1 for attempt 1"));
    }

    @Test
    void reconcilingAgainChangesNothingAndCreatesNoSecondJob() {
        Job job = started();
        TrainingRunStatus before = run.getStatus();

        Reconciliation.Plan again = plan(job);
        Reconciliation.Plan beforeTheCacheSawTheJob = plan(job);

        assertThat(again.create()).isNull();
        assertThat(again.events()).isEmpty();
        assertThat(Reconciler.operatorFields(again.status())).isEqualTo(Reconciler.operatorFields(before));
        assertThat(beforeTheCacheSawTheJob.create()).isNull();
    }

    @Test
    void aPodWaitingForAGpuKeepsTheRunPendingAndSaysWhy() {
        Job job = withStatus(started(), active(1, 0));

        Reconciliation.Plan plan = plan(job, Fixtures.unschedulablePod(job));

        assertThat(plan.status().phase).isEqualTo(Phase.Pending);
        assertThat(condition(plan.status(), "Running").getReason()).isEqualTo("Unschedulable");
        assertThat(plan.status().message).contains("cannot be scheduled yet", "0/4 nodes are available: 4 Insufficient nvidia.com/gpu.");
        assertThat(plan.events()).isEmpty();
    }

    @Test
    void aReadyPodMakesTheRunRunningOnce() {
        Job job = withStatus(started(), active(1, 1));

        Reconciliation.Plan running = applied(plan(job, Fixtures.runningPod(job)));
        Reconciliation.Plan later = plan(job, Fixtures.runningPod(job));

        assertThat(running.status().phase).isEqualTo(Phase.Running);
        assertThat(running.status().startTime).isEqualTo("2026-01-01T00:06:00Z");
        assertThat(condition(running.status(), "Running").getStatus()).isEqualTo("True");
        assertThat(running.status().message).contains("on node gpu-node-1");
        assertThat(running.events()).extracting(RunEvent::reason).containsExactly("Running");
        assertThat(later.events()).isEmpty();
        assertThat(later.status().startTime).isEqualTo("2026-01-01T00:06:00Z");
    }

    @Test
    void aCompletedJobSucceedsTheRunForGood() {
        Job job = withStatus(started(), complete());

        Reconciliation.Plan succeeded = applied(plan(job));
        Reconciliation.Plan later = plan(job);

        assertThat(succeeded.status().phase).isEqualTo(Phase.Succeeded);
        assertThat(succeeded.status().completionTime).isEqualTo("2026-01-01T00:06:00Z");
        assertThat(condition(succeeded.status(), "Succeeded").getReason()).isEqualTo("JobComplete");
        assertThat(condition(succeeded.status(), "Running").getStatus()).isEqualTo("False");
        assertThat(succeeded.events()).extracting(RunEvent::type, RunEvent::reason)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("Normal", "Succeeded"));
        assertThat(later.events()).isEmpty();
        assertThat(later.create()).isNull();
        assertThat(Reconciler.operatorFields(later.status())).isEqualTo(Reconciler.operatorFields(run.getStatus()));
    }

    @Test
    void aTrainerThatCheckpointedAndExited75GetsANewAttemptThatResumes() {
        Job job = withStatus(started(), failed("BackoffLimitExceeded"));

        Reconciliation.Plan plan = plan(job, exitedPod(job, 75, "Error"));

        assertThat(plan.create().getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a2");
        assertThat(plan.create().getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).contains("--resume");
        assertThat(plan.status().attempts).isEqualTo(2);
        assertThat(plan.status().restarts).isEqualTo(1);
        assertThat(plan.status().phase).isEqualTo(Phase.Pending);
        assertThat(plan.events()).singleElement().satisfies(event -> {
            assertThat(event.type()).isEqualTo("Warning");
            assertThat(event.reason()).isEqualTo("Restarting");
            assertThat(event.message()).contains("Attempt 1", "exited with code 75 (checkpointed; asks to be resumed)",
                    "created Job qwen3-8b-layer28-mlp-a2 for attempt 2", "restart 1 of 3");
        });
    }

    @Test
    void aCheckpointAndExit75AfterProgressIsAPreemptionNotARestart() {
        Job job = withStatus(started(), failed("BackoffLimitExceeded"));
        trainerCheckpointed("409600");

        Reconciliation.Plan plan = plan(job, exitedPod(job, 75, "Error"));

        assertThat(plan.create().getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a2");
        assertThat(plan.status().restarts).isZero();
        assertThat(plan.status().preemptions).isEqualTo(1);
        assertThat(plan.status().attemptStartCheckpoint).isEqualTo("s3://saeforge/runs/qwen3-8b-layer28-mlp/409600");
        assertThat(plan.events()).extracting(RunEvent::type, RunEvent::reason)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("Normal", "Preempted"));
        assertThat(plan.status().message).contains("Attempt 1", "checkpointed s3://saeforge/runs/qwen3-8b-layer28-mlp/409600",
                "created Job qwen3-8b-layer28-mlp-a2 for attempt 2", "(preemption 1)");
    }

    @Test
    void onlyAttemptsThatEndWithoutANewerCheckpointUseTheRestartBudget() {
        run.getSpec().maxRestarts = 1;
        Job first = withStatus(started(), failed("BackoffLimitExceeded"));
        trainerCheckpointed("409600");
        Job second = withStatus(applied(plan(first, Fixtures.preemptedPod(first))).create(), failed("BackoffLimitExceeded"));
        // The second attempt resumes from 409600 and crashes before its next checkpoint.
        Job third = withStatus(applied(plan(second, exitedPod(second, 137, "OOMKilled"))).create(), failed("BackoffLimitExceeded"));

        assertThat(run.getStatus().preemptions).isEqualTo(1);
        assertThat(run.getStatus().restarts).isEqualTo(1);
        Reconciliation.Plan plan = plan(third, exitedPod(third, 137, "OOMKilled"));

        assertThat(plan.status().phase).isEqualTo(Phase.Failed);
        assertThat(condition(plan.status(), "Failed").getReason()).isEqualTo("RestartBudgetExhausted");
        assertThat(plan.status().message).contains("Attempt 3", "no checkpoint after s3://saeforge/runs/qwen3-8b-layer28-mlp/409600",
                "no restarts left (spec.maxRestarts is 1)");
    }

    @Test
    void aPreemptionBudgetWhenSetRunsOutToo() {
        run.getSpec().maxPreemptions = 1;
        Job first = withStatus(started(), failed("BackoffLimitExceeded"));
        trainerCheckpointed("409600");
        Job second = withStatus(applied(plan(first, exitedPod(first, 75, "Error"))).create(), failed("BackoffLimitExceeded"));
        trainerCheckpointed("819200");

        Reconciliation.Plan plan = plan(second, exitedPod(second, 75, "Error"));

        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Failed);
        assertThat(condition(plan.status(), "Failed").getReason()).isEqualTo("PreemptionBudgetExhausted");
        assertThat(plan.status().message).contains("no preemptions are left (spec.maxPreemptions is 1)");
    }

    @Test
    void aPreemptedPodIsRetryableWhateverItsExitCode() {
        Job job = withStatus(started(), failed("BackoffLimitExceeded"));

        Reconciliation.Plan plan = plan(job, Fixtures.preemptedPod(job));

        assertThat(plan.create()).isNotNull();
        assertThat(plan.events().get(0).message()).contains("stopped by the cluster (PreemptionByScheduler");
    }

    @Test
    void theRestartBudgetRunsOut() {
        run.getSpec().maxRestarts = 1;
        Job first = withStatus(started(), failed("BackoffLimitExceeded"));
        Job second = withStatus(applied(plan(first, exitedPod(first, 75, "Error"))).create(), failed("BackoffLimitExceeded"));

        Reconciliation.Plan plan = plan(second, Fixtures.preemptedPod(second));

        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Failed);
        assertThat(plan.status().restarts).isEqualTo(1);
        assertThat(condition(plan.status(), "Failed").getReason()).isEqualTo("RestartBudgetExhausted");
        assertThat(plan.status().message).contains("Attempt 2", "no restarts left (spec.maxRestarts is 1)");
        assertThat(plan.events()).extracting(RunEvent::reason).containsExactly("RestartBudgetExhausted");
    }

    @Test
    void exitTwoIsFatalAndStartsNoNewAttempt() {
        Job job = withStatus(started(), failed("PodFailurePolicy"));

        Reconciliation.Plan plan = plan(job, exitedPod(job, 2, "Error"));

        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Failed);
        assertThat(condition(plan.status(), "Failed").getReason()).isEqualTo("InvalidInput");
        assertThat(plan.status().message).contains("exited with code 2 (invalid spec or input)");
        assertThat(plan.status().completionTime).isNotNull();
    }

    @Test
    void exitOneIsFatalToo() {
        Job job = withStatus(started(), failed("PodFailurePolicy"));

        assertThat(condition(plan(job, exitedPod(job, 1, "Error")).status(), "Failed").getReason()).isEqualTo("TrainerFailed");
    }

    @Test
    void anInvalidSpecNeverProducesAJobAndTheConditionNamesTheProblems() {
        run.getSpec().sae.expansionFactor = 4; // dSae is set too
        run.getSpec().training.tokens = 1000;  // less than one batch

        Reconciliation.Plan plan = applied(plan(null));

        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Failed);
        assertThat(condition(plan.status(), "Failed").getReason()).isEqualTo("InvalidSpec");
        assertThat(condition(plan.status(), "Valid").getMessage()).contains(
                "spec.sae.expansionFactor: must be left out when spec.sae.dSae is set",
                "spec.training.tokens: 1000 is less than one batch");
        assertThat(plan.events()).extracting(RunEvent::type).containsExactly("Warning");
        assertThat(plan(null).create()).as("still invalid, still no Job").isNull();
    }

    @Test
    void fixingAnInvalidSpecStartsTheRun() {
        run.getSpec().sae.expansionFactor = 4;
        applied(plan(null));

        run.getSpec().sae.expansionFactor = null;
        run.getMetadata().setGeneration(2L);
        Reconciliation.Plan plan = plan(null);

        assertThat(plan.create()).isNotNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Pending);
        assertThat(plan.status().completionTime).isNull();
        assertThat(plan.status().conditions).extracting(Condition::getType).doesNotContain("Failed");
        assertThat(condition(plan.status(), "Valid").getStatus()).isEqualTo("True");
    }

    @Test
    void aSpecEditedIntoInvalidWhileRunningLetsTheAttemptFinishButWarns() {
        Job job = withStatus(started(), active(1, 1));
        run.getSpec().sae.expansionFactor = 4;
        run.getMetadata().setGeneration(2L);

        Reconciliation.Plan plan = plan(job, Fixtures.runningPod(job));

        assertThat(plan.delete()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Running);
        assertThat(condition(plan.status(), "Valid").getStatus()).isEqualTo("False");
        assertThat(plan.events()).extracting(RunEvent::reason).contains("InvalidSpec");
    }

    @Test
    void cancelDeletesTheJobAndIsFinal() {
        Job job = withStatus(started(), active(1, 1));
        run.getSpec().cancel = true;

        Reconciliation.Plan cancelled = applied(plan(job, Fixtures.runningPod(job)));
        run.getSpec().cancel = false;
        Reconciliation.Plan later = plan(null);

        assertThat(cancelled.delete()).isEqualTo("qwen3-8b-layer28-mlp-a1");
        assertThat(cancelled.status().phase).isEqualTo(Phase.Cancelled);
        assertThat(condition(cancelled.status(), "Cancelled").getReason()).isEqualTo("CancelRequested");
        assertThat(cancelled.events()).extracting(RunEvent::reason).containsExactly("Cancelled");
        assertThat(later.create()).as("cancel cannot be undone").isNull();
        assertThat(later.status().phase).isEqualTo(Phase.Cancelled);
    }

    @Test
    void cancellingARunThatNeverStartedCreatesNothing() {
        run.getSpec().cancel = true;

        Reconciliation.Plan plan = plan(null);

        assertThat(plan.create()).isNull();
        assertThat(plan.delete()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Cancelled);
    }

    @Test
    void suspendStopsTheJobAndResumingIsANewAttemptThatIsNotARestart() {
        Job job = withStatus(started(), active(1, 1));
        applied(plan(job, Fixtures.runningPod(job)));
        run.getSpec().suspend = true;

        Reconciliation.Plan suspended = applied(plan(job, Fixtures.runningPod(job)));
        Reconciliation.Plan stillSuspended = plan(null);
        run.getSpec().suspend = false;
        Reconciliation.Plan resumed = plan(null);

        assertThat(suspended.delete()).isEqualTo("qwen3-8b-layer28-mlp-a1");
        assertThat(suspended.status().phase).isEqualTo(Phase.Suspended);
        assertThat(condition(suspended.status(), "Suspended").getStatus()).isEqualTo("True");
        assertThat(suspended.events()).extracting(RunEvent::reason).containsExactly("Suspended");
        assertThat(stillSuspended.create()).isNull();
        assertThat(stillSuspended.events()).isEmpty();
        assertThat(resumed.create().getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a2");
        assertThat(resumed.create().getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).contains("--resume");
        assertThat(resumed.status().restarts).as("resuming is not a restart").isZero();
        assertThat(condition(resumed.status(), "Suspended").getReason()).isEqualTo("Resumed");
        assertThat(resumed.events()).extracting(RunEvent::reason).containsExactly("Resumed");
    }

    @Test
    void aRunSuspendedBeforeItStartsGetsNoJobUntilResumed() {
        run.getSpec().suspend = true;

        Reconciliation.Plan suspended = applied(plan(null));
        run.getSpec().suspend = false;
        Reconciliation.Plan resumed = plan(null);

        assertThat(suspended.create()).isNull();
        assertThat(suspended.status().phase).isEqualTo(Phase.Suspended);
        assertThat(resumed.create().getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a1");
        assertThat(resumed.create().getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).doesNotContain("--resume");
    }

    @Test
    void resumingWaitsForTheStoppedJobToBeGone() {
        Job job = withStatus(started(), active(1, 1));
        run.getSpec().suspend = true;
        applied(plan(job));
        run.getSpec().suspend = false;
        job.getMetadata().setDeletionTimestamp("2026-01-01T00:07:00Z");

        Reconciliation.Plan waiting = plan(job);

        assertThat(waiting.create()).isNull();
        assertThat(waiting.status().phase).isEqualTo(Phase.Suspended);
        assertThat(waiting.status().message).contains("is being deleted");
    }

    @Test
    void aJobDeletedBeforeItFinishedIsALostAttempt() {
        Job job = withStatus(started(), active(1, 1));
        applied(plan(job, Fixtures.runningPod(job)));

        Reconciliation.Plan plan = plan(null);

        assertThat(plan.create().getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a2");
        assertThat(plan.status().restarts).isEqualTo(1);
        assertThat(plan.events().get(0).message()).contains("was deleted before it finished");
    }

    @Test
    void aJobDeletedWhileItsPodRunsStartsNoAttemptButStopsThePodFirst() {
        Job job = withStatus(started(), active(1, 1));
        applied(plan(job, Fixtures.runningPod(job)));

        // kubectl delete job --cascade=orphan: the Job is gone, its pod trains on.
        Reconciliation.Plan orphaned = applied(plan(null, Fixtures.runningPod(job)));
        Reconciliation.Plan terminating = plan(null, deletedAround(Fixtures.runningPod(job), "2026-01-01T00:08:00Z"));
        Reconciliation.Plan stopped = plan(null, exitedPod(job, 75, "Error"));

        assertThat(orphaned.create()).isNull();
        assertThat(orphaned.deletePods()).containsExactly("qwen3-8b-layer28-mlp-a1-x7k2p");
        assertThat(orphaned.status().message).contains("Job qwen3-8b-layer28-mlp-a1 was deleted, but its pod "
                + "qwen3-8b-layer28-mlp-a1-x7k2p still runs", "the next attempt starts when it is gone");
        assertThat(orphaned.events()).extracting(RunEvent::reason).containsExactly("OrphanedPod");
        assertThat(terminating.create()).isNull();
        assertThat(terminating.deletePods()).as("already being deleted").isEmpty();
        assertThat(stopped.create().getMetadata().getName()).isEqualTo("qwen3-8b-layer28-mlp-a2");
        assertThat(stopped.deletePods()).isEmpty();
    }

    @Test
    void aFinishedJobRemovedBeforeTheOperatorSawItSucceedsTheRunInsteadOfRestartingIt() {
        Job job = withStatus(started(), active(1, 1));
        applied(plan(job, Fixtures.runningPod(job)));
        trainerCheckpointed("final_1228800000");

        // The Job completed and its ttlSecondsAfterFinished removed it, pods and all, before a reconcile saw it.
        Reconciliation.Plan plan = plan(null);

        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Succeeded);
        assertThat(condition(plan.status(), "Succeeded").getReason()).isEqualTo("FinalCheckpoint");
        assertThat(plan.status().message).contains("its trainer reported the final checkpoint s3://saeforge/runs/qwen3-8b-layer28-mlp/final_1228800000");
    }

    @Test
    void aCompletedJobIsRecordedBeforeACancelThatCameAfterIt() {
        Job job = withStatus(started(), complete());
        run.getSpec().cancel = true;

        Reconciliation.Plan plan = plan(job);

        assertThat(plan.status().phase).isEqualTo(Phase.Succeeded);
        assertThat(plan.delete()).isNull();
    }

    @Test
    void checkpointsThatWouldVanishWithThePodRefuseTheRunWithoutAJob() {
        run.getSpec().checkpoints.uri = "runs";

        Reconciliation.Plan plan = plan(null);

        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Failed);
        assertThat(condition(plan.status(), "Valid").getMessage()).contains("spec.checkpoints.uri: \"runs\" is a directory inside "
                + "the trainer's pod", "pod-local");
        assertThat(plan.events()).extracting(RunEvent::reason).containsExactly("InvalidSpec");
    }

    @Test
    void aVolumeOrAnExplicitPodLocalIsAccepted() {
        run.getSpec().checkpoints.uri = "runs";
        run.getSpec().checkpoints.volume = new dev.saeforge.api.CheckpointSpec.Volume();
        run.getSpec().checkpoints.volume.claimName = "sae-checkpoints";
        assertThat(plan(null).create()).isNotNull();

        run.getSpec().checkpoints.volume = null;
        run.getSpec().checkpoints.uri = "pod-local";
        assertThat(plan(null).create()).isNotNull();
    }

    @Test
    void withoutTheTrainersIdentityTheRunWaitsAndSaysSo() {
        Reconciliation.Plan missing = applied(plan(null, false));
        Reconciliation.Plan again = plan(null, false);

        assertThat(missing.create()).isNull();
        assertThat(missing.retryLater()).isTrue();
        assertThat(missing.status().phase).isEqualTo(Phase.Pending);
        assertThat(condition(missing.status(), "Running").getReason()).isEqualTo("TrainerServiceAccountMissing");
        assertThat(missing.status().message).contains("research/qwen3-8b-layer28-mlp-trainer could not be created");
        assertThat(missing.events()).extracting(RunEvent::reason).containsExactly("TrainerServiceAccountMissing");
        assertThat(again.events()).as("said once").isEmpty();
        assertThat(plan(null, true).create()).isNotNull();
    }

    @Test
    void aRefusedJobIsRecordedInTheStatusNotOnlyInAnEvent() {
        Reconciliation.Observed observed = new Reconciliation.Observed(run, null, List.of(), true, now);

        Reconciliation.Plan plan = Reconciliation.creationFailed(observed, "qwen3-8b-layer28-mlp-a1", "exceeded quota: gpu-quota");

        assertThat(plan.status().phase).isEqualTo(Phase.Pending);
        assertThat(plan.status().attempts).isNull();
        assertThat(condition(plan.status(), "Running").getReason()).isEqualTo("JobCreateFailed");
        assertThat(plan.status().message).contains("exceeded quota: gpu-quota");
        assertThat(plan.retryLater()).isTrue();
        assertThat(plan.events()).extracting(RunEvent::type).containsExactly("Warning");
    }

    @Test
    void conditionsKeepTheirTransitionTimeWhileTheirStatusHolds() {
        Job job = withStatus(started(), active(1, 1));
        Reconciliation.Plan running = applied(plan(job, Fixtures.runningPod(job)));
        Reconciliation.Plan later = plan(job, Fixtures.runningPod(job));

        assertThat(condition(later.status(), "Running").getLastTransitionTime())
                .isEqualTo(condition(running.status(), "Running").getLastTransitionTime());
        assertThat(condition(later.status(), "Valid").getLastTransitionTime()).isEqualTo("2026-01-01T00:05:00Z");
    }

    /**
     * A run with spec.activations.parallelism: its cache Job first, the training Job only once every
     * index succeeded, and cancel and suspend reaching the cache Job.
     */
    @Nested
    class GeneratingTheCacheFirst {
        @BeforeEach
        void cachedSeed() throws Exception {
            run = Fixtures.storedCachedSeedRun(4);
        }

        /** A reconcile that sees the run's cache Job as {@code job} and no training Job. */
        Reconciliation.Plan cachePlan(Job job) {
            cacheJob = job;
            return plan(null);
        }

        /** The cache Job, created and applied: as the cluster now holds it. */
        Job cacheJobCreated() {
            return applied(cachePlan(null)).cache().create();
        }

        @Test
        void aNewRunGetsItsCacheJobAndNoTrainingJob() {
            Reconciliation.Plan plan = cachePlan(null);

            assertThat(plan.cache().create().getMetadata().getName()).isEqualTo(SEED + "-cache");
            assertThat(plan.cache().create().getSpec().getCompletions()).isEqualTo(4);
            assertThat(plan.create()).isNull();
            assertThat(plan.status().jobName).isNull();
            assertThat(plan.status().attempts).isNull();
            assertThat(plan.status().specHash).as("the cache Job reads the spec: it is fixed from now on").isEqualTo(SpecLock.hash(run.getSpec()));
            assertThat(plan.status().phase).isEqualTo(Phase.Pending);
            assertThat(plan.status().cache.job).isEqualTo(SEED + "-cache");
            assertThat(plan.status().cache.indexes).isEqualTo(4);
            assertThat(plan.status().cache.phase).isEqualTo(CacheStatus.Phase.Pending);
            assertThat(condition(plan.status(), "CacheReady").getStatus()).isEqualTo("False");
            assertThat(plan.events()).extracting(RunEvent::reason).containsExactly("CacheJobCreated");
            assertThat(plan.events().get(0).message()).contains("4 pods generate the activation cache s3://saeforge/cache/qwen3-8b-layer28");
        }

        @Test
        void reconcilingAgainCreatesNoSecondCacheJob() {
            Job job = cacheJobCreated();

            Reconciliation.Plan again = cachePlan(job);

            assertThat(again.cache().create()).isNull();
            assertThat(again.create()).isNull();
        }

        @Test
        void whileIndexesRunTheStatusShowsEachIndexAndNoTrainingJobStarts() {
            Job job = withStatus(cacheJobCreated(), indexes(2, "0-1", null, 0));

            Reconciliation.Plan plan = applied(cachePlan(job));
            Reconciliation.Plan later = cachePlan(job);

            assertThat(plan.create()).isNull();
            assertThat(plan.cache().create()).isNull();
            assertThat(plan.status().phase).isEqualTo(Phase.Running);
            assertThat(plan.status().cache).satisfies(cache -> {
                assertThat(cache.phase).isEqualTo(CacheStatus.Phase.Running);
                assertThat(cache.succeeded).isEqualTo("0-1");
                assertThat(cache.failed).isNull();
                assertThat(cache.active).isEqualTo(2);
                assertThat(cache.progress()).isEqualTo("2/4");
            });
            assertThat(plan.status().message).isEqualTo("Generating the activation cache: cache Job " + SEED + "-cache, 2/4 indexes "
                    + "succeeded, 2 pods running");
            assertThat(plan.events()).extracting(RunEvent::reason).containsExactly("GeneratingCache");
            assertThat(later.events()).isEmpty();
        }

        @Test
        void aFailedPodIsRetriedByItsIndexAloneWhileTheRunWaits() {
            Job running = withStatus(cacheJobCreated(), indexes(4, null, null, 0));
            applied(cachePlan(running));
            // Index 2's pod crashed; the Job controller starts a new pod for index 2 only.
            Job retrying = withStatus(running, indexes(2, "0-1", null, 1));

            Reconciliation.Plan plan = applied(cachePlan(retrying));

            assertThat(plan.create()).isNull();
            assertThat(plan.cache()).isEqualTo(Reconciliation.CacheAction.NONE);
            assertThat(plan.status().cache.podFailures).isEqualTo(1);
            assertThat(plan.status().cache.succeeded).isEqualTo("0-1");
            assertThat(plan.events()).extracting(RunEvent::type, RunEvent::reason).containsExactly(tuple("Warning", "CachePodFailed"));
            assertThat(plan.events().get(0).message()).contains("Kubernetes runs their indexes again, alone (at most 3 retries an index)");
            assertThat(cachePlan(retrying).events()).as("told once").isEmpty();
        }

        @Test
        void anIndexLostForGoodIsShownWhileTheOthersGoOn() {
            Job job = withStatus(cacheJobCreated(), indexes(2, "0", "2", 4));

            Reconciliation.Plan plan = cachePlan(job);

            assertThat(plan.create()).isNull();
            assertThat(plan.status().phase).isEqualTo(Phase.Running);
            assertThat(plan.status().cache.failed).isEqualTo("2");
            assertThat(plan.status().message).contains("1/4 indexes succeeded, indexes 2 failed, 2 pods running");
            assertThat(plan.events()).extracting(RunEvent::reason).contains("CacheIndexFailed");
        }

        @Test
        void theTrainingJobStartsOnlyOnceEveryIndexSucceeded() {
            Job job = cacheJobCreated();
            assertThat(applied(cachePlan(withStatus(job, indexes(1, "0-2", null, 0)))).create()).isNull();

            Reconciliation.Plan plan = applied(cachePlan(withStatus(job, allIndexesComplete(4))));

            assertThat(plan.create().getMetadata().getName()).isEqualTo(SEED + "-a1");
            assertThat(plan.create().getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).startsWith("train");
            assertThat(plan.status().attempts).isEqualTo(1);
            assertThat(plan.status().cache.phase).isEqualTo(CacheStatus.Phase.Succeeded);
            assertThat(plan.status().cache.succeeded).isEqualTo("0-3");
            assertThat(condition(plan.status(), "CacheReady").getStatus()).isEqualTo("True");
            assertThat(condition(plan.status(), "CacheReady").getReason()).isEqualTo("CacheComplete");
            assertThat(plan.events()).extracting(RunEvent::reason).containsExactly("CacheReady", "JobCreated");
            assertThat(plan.events().get(1).message()).isEqualTo("Created Job " + SEED + "-a1 for attempt 1, which trains from the cache");
        }

        @Test
        void aCacheJobRemovedAfterItSucceededStillLetsTrainingStart() {
            Job job = cacheJobCreated();
            applied(cachePlan(withStatus(job, allIndexesComplete(4))));
            run.getStatus().jobName = null;
            run.getStatus().attempts = null;

            assertThat(cachePlan(null).create().getMetadata().getName()).isEqualTo(SEED + "-a1");
        }

        @Test
        void aCacheJobThatFailedFailsTheRunNamingItsIndexes() {
            Job job = withStatus(cacheJobCreated(), failedIndexes("0-1,3", "2", 4));

            Reconciliation.Plan plan = applied(cachePlan(job));

            assertThat(plan.create()).isNull();
            assertThat(plan.status().phase).isEqualTo(Phase.Failed);
            assertThat(condition(plan.status(), "Failed").getReason()).isEqualTo("CacheJobFailed");
            assertThat(condition(plan.status(), "CacheReady").getReason()).isEqualTo("CacheJobFailed");
            assertThat(plan.status().message).isEqualTo("Cache Job " + SEED + "-cache failed (FailedIndexes: Job has failed indexes): "
                    + "indexes 2 failed after 3 retries each (backoffLimitPerIndex); indexes 0-1,3 succeeded and stay in the cache; "
                    + "no training Job was started");
            assertThat(plan.status().cache.phase).isEqualTo(CacheStatus.Phase.Failed);
            assertThat(cachePlan(job).events()).as("a failed run stays failed").isEmpty();
        }

        @Test
        void cancelDeletesTheCacheJob() {
            Job job = withStatus(cacheJobCreated(), indexes(4, null, null, 0));
            run.getSpec().cancel = true;

            Reconciliation.Plan plan = applied(cachePlan(job));

            assertThat(plan.cache().delete()).isEqualTo(SEED + "-cache");
            assertThat(plan.create()).isNull();
            assertThat(plan.status().phase).isEqualTo(Phase.Cancelled);
            assertThat(plan.status().message).contains("deleted cache Job " + SEED + "-cache");
            run.getSpec().cancel = false;
            assertThat(cachePlan(job).cache().create()).as("cancel cannot be undone").isNull();
        }

        @Test
        void suspendSuspendsTheCacheJobAndResumingUnsuspendsIt() {
            Job job = withStatus(cacheJobCreated(), indexes(4, "0", null, 0));
            run.getSpec().suspend = true;

            Reconciliation.Plan suspended = applied(cachePlan(job));
            Job suspendedJob = new JobBuilder(job).editSpec().withSuspend(true).endSpec().build();
            Reconciliation.Plan stillSuspended = applied(cachePlan(suspendedJob));
            run.getSpec().suspend = false;
            Reconciliation.Plan resumed = applied(cachePlan(suspendedJob));

            assertThat(suspended.cache().suspend()).isTrue();
            assertThat(suspended.status().phase).isEqualTo(Phase.Suspended);
            assertThat(suspended.status().cache.phase).isEqualTo(CacheStatus.Phase.Suspended);
            assertThat(suspended.status().message).contains("suspended cache Job " + SEED + "-cache");
            assertThat(suspended.events()).extracting(RunEvent::reason).containsExactly("Suspended");
            assertThat(stillSuspended.cache().suspend()).as("already suspended").isNull();
            assertThat(stillSuspended.events()).isEmpty();
            assertThat(resumed.cache().suspend()).isFalse();
            assertThat(resumed.create()).as("the cache is not complete yet").isNull();
            assertThat(resumed.events()).extracting(RunEvent::reason).containsExactly("Resumed");
            assertThat(condition(resumed.status(), "Suspended").getStatus()).isEqualTo("False");
        }

        @Test
        void aCacheThePodsCannotReachFailsTheRunBeforeAnyJob() {
            run.getSpec().activations.cache.uri = "/data/cache";

            Reconciliation.Plan plan = cachePlan(null);

            assertThat(plan.cache().create()).isNull();
            assertThat(plan.create()).isNull();
            assertThat(plan.status().phase).isEqualTo(Phase.Failed);
            assertThat(condition(plan.status(), "Valid").getMessage()).startsWith("spec.activations.cache.uri: \"/data/cache\" is not "
                    + "reachable from every pod of the run; expected s3://BUCKET/PREFIX");
        }

        @Test
        void aRunWithoutParallelismStartsTrainingAtOnce() throws Exception {
            run = Fixtures.storedSeedRun();

            Reconciliation.Plan plan = cachePlan(null);

            assertThat(plan.create().getMetadata().getName()).isEqualTo(SEED + "-a1");
            assertThat(plan.cache()).isEqualTo(Reconciliation.CacheAction.NONE);
            assertThat(plan.status().cache).isNull();
        }
    }
}
