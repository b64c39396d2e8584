package dev.saeforge.operator;

import dev.saeforge.api.CacheStatus;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.api.TrainingRunStatus.Phase;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static dev.saeforge.operator.Fixtures.SEED;
import static dev.saeforge.operator.Fixtures.allIndexesComplete;
import static dev.saeforge.operator.Fixtures.failedIndexes;
import static dev.saeforge.operator.Fixtures.indexes;
import static dev.saeforge.operator.Fixtures.withStatus;
import static dev.saeforge.operator.Reconciliation.RunEvent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

/**
 * A run with spec.activations.parallelism, decided without a cluster: its cache Job first, the
 * training Job only once every index succeeded, and cancel and suspend reaching the cache Job.
 */
class CacheJobReconciliationTest {
    static final Instant T0 = Instant.parse("2026-01-01T00:05:00Z");
    final OperatorConfig config = new OperatorConfig();
    TrainingRun run;
    Instant now;

    @BeforeEach
    void seed() throws Exception {
        run = Fixtures.storedCachedSeedRun(4);
        now = T0;
    }

    Reconciliation.Plan plan(Job cacheJob) {
        Reconciliation.Plan plan = Reconciliation.plan(new Reconciliation.Observed(run, null, List.of(), true, now, cacheJob), config);
        now = now.plus(Duration.ofMinutes(1));
        return plan;
    }

    Reconciliation.Plan applied(Reconciliation.Plan plan) {
        run.setStatus(Mappers.json().convertValue(plan.status(), TrainingRunStatus.class));
        return plan;
    }

    /** The cache Job, created and applied: as the cluster now holds it. */
    Job cacheJobCreated() {
        return applied(plan(null)).cache().create();
    }

    static Condition condition(TrainingRunStatus status, String type) {
        return status.conditions.stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    @Test
    void aNewRunGetsItsCacheJobAndNoTrainingJob() {
        Reconciliation.Plan plan = plan(null);

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

        Reconciliation.Plan again = plan(job);

        assertThat(again.cache().create()).isNull();
        assertThat(again.create()).isNull();
    }

    @Test
    void whileIndexesRunTheStatusShowsEachIndexAndNoTrainingJobStarts() {
        Job job = withStatus(cacheJobCreated(), indexes(2, "0-1", null, 0));

        Reconciliation.Plan plan = applied(plan(job));
        Reconciliation.Plan later = plan(job);

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
        applied(plan(running));
        // Index 2's pod crashed; the Job controller starts a new pod for index 2 only.
        Job retrying = withStatus(running, indexes(2, "0-1", null, 1));

        Reconciliation.Plan plan = applied(plan(retrying));

        assertThat(plan.create()).isNull();
        assertThat(plan.cache()).isEqualTo(Reconciliation.CacheAction.NONE);
        assertThat(plan.status().cache.podFailures).isEqualTo(1);
        assertThat(plan.status().cache.succeeded).isEqualTo("0-1");
        assertThat(plan.events()).extracting(RunEvent::type, RunEvent::reason).containsExactly(tuple("Warning", "CachePodFailed"));
        assertThat(plan.events().get(0).message()).contains("Kubernetes runs their indexes again, alone (at most 3 retries an index)");
        assertThat(plan(retrying).events()).as("told once").isEmpty();
    }

    @Test
    void anIndexLostForGoodIsShownWhileTheOthersGoOn() {
        Job job = withStatus(cacheJobCreated(), indexes(2, "0", "2", 4));

        Reconciliation.Plan plan = plan(job);

        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Running);
        assertThat(plan.status().cache.failed).isEqualTo("2");
        assertThat(plan.status().message).contains("1/4 indexes succeeded, indexes 2 failed, 2 pods running");
        assertThat(plan.events()).extracting(RunEvent::reason).contains("CacheIndexFailed");
    }

    @Test
    void theTrainingJobStartsOnlyOnceEveryIndexSucceeded() {
        Job job = cacheJobCreated();
        assertThat(applied(plan(withStatus(job, indexes(1, "0-2", null, 0)))).create()).isNull();

        Reconciliation.Plan plan = applied(plan(withStatus(job, allIndexesComplete(4))));

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
        applied(plan(withStatus(job, allIndexesComplete(4))));
        run.getStatus().jobName = null;
        run.getStatus().attempts = null;

        assertThat(plan(null).create().getMetadata().getName()).isEqualTo(SEED + "-a1");
    }

    @Test
    void aCacheJobThatFailedFailsTheRunNamingItsIndexes() {
        Job job = withStatus(cacheJobCreated(), failedIndexes("0-1,3", "2", 4));

        Reconciliation.Plan plan = applied(plan(job));

        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Failed);
        assertThat(condition(plan.status(), "Failed").getReason()).isEqualTo("CacheJobFailed");
        assertThat(condition(plan.status(), "CacheReady").getReason()).isEqualTo("CacheJobFailed");
        assertThat(plan.status().message).isEqualTo("Cache Job " + SEED + "-cache failed (FailedIndexes: Job has failed indexes): "
                + "indexes 2 failed after 3 retries each (backoffLimitPerIndex); indexes 0-1,3 succeeded and stay in the cache; "
                + "no training Job was started");
        assertThat(plan.status().cache.phase).isEqualTo(CacheStatus.Phase.Failed);
        assertThat(plan(job).events()).as("a failed run stays failed").isEmpty();
    }

    @Test
    void cancelDeletesTheCacheJob() {
        Job job = withStatus(cacheJobCreated(), indexes(4, null, null, 0));
        run.getSpec().cancel = true;

        Reconciliation.Plan plan = applied(plan(job));

        assertThat(plan.cache().delete()).isEqualTo(SEED + "-cache");
        assertThat(plan.create()).isNull();
        assertThat(plan.status().phase).isEqualTo(Phase.Cancelled);
        assertThat(plan.status().message).contains("deleted cache Job " + SEED + "-cache");
        run.getSpec().cancel = false;
        assertThat(plan(job).cache().create()).as("cancel cannot be undone").isNull();
    }

    @Test
    void suspendSuspendsTheCacheJobAndResumingUnsuspendsIt() {
        Job job = withStatus(cacheJobCreated(), indexes(4, "0", null, 0));
        run.getSpec().suspend = true;

        Reconciliation.Plan suspended = applied(plan(job));
        Job suspendedJob = new JobBuilder(job).editSpec().withSuspend(true).endSpec().build();
        Reconciliation.Plan stillSuspended = applied(plan(suspendedJob));
        run.getSpec().suspend = false;
        Reconciliation.Plan resumed = applied(plan(suspendedJob));

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
    void aRunWithoutParallelismStartsTrainingAtOnce() throws Exception {
        run = Fixtures.storedSeedRun();

        Reconciliation.Plan plan = plan(null);

        assertThat(plan.create().getMetadata().getName()).isEqualTo(SEED + "-a1");
        assertThat(plan.cache()).isEqualTo(Reconciliation.CacheAction.NONE);
        assertThat(plan.status().cache).isNull();
    }
}
