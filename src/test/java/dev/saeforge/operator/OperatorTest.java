package dev.saeforge.operator;

import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.api.TrainingRunStatus.Phase;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static dev.saeforge.operator.Fixtures.NAMESPACE;
import static dev.saeforge.operator.Fixtures.SEED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The operator against a Kubernetes API server (fabric8's, in CRUD mode): the test submits runs
 * the way kubectl apply does and plays the Job controller and kubelet by writing Job and pod
 * status; the operator must keep the runs' status, conditions and events true.
 */
class OperatorTest {
    static final Controller.Settings FAST = new Controller.Settings(2, Duration.ofSeconds(2), Duration.ofMillis(50),
            Duration.ofMillis(400), Duration.ofSeconds(30));
    static final Operator.Timing QUICK = new Operator.Timing(Duration.ofSeconds(2), Duration.ofMillis(1500), Duration.ofMillis(200));
    static final Duration PATIENCE = Duration.ofSeconds(30);

    ApiServer api;
    KubernetesClient client;
    final List<Operator> operators = new ArrayList<>();

    @BeforeEach
    void startApiServer() throws Exception {
        api = ApiServer.start();
        client = api.client;
    }

    @AfterEach
    void stop() {
        operators.forEach(Operator::close);
        api.close();
    }

    Operator operator(String identity) {
        OperatorConfig config = TrainingJobsTest.config();
        config.namespaces = List.of(NAMESPACE);
        Operator operator = new Operator(api.newClient(), config, identity, "saeforge-system", FAST, QUICK, Clock.systemUTC());
        operators.add(operator);
        operator.start();
        return operator;
    }

    TrainingRun submit(TrainingRun run) {
        return client.resources(TrainingRun.class).inNamespace(NAMESPACE).resource(run).create();
    }

    TrainingRun run(String name) {
        return client.resources(TrainingRun.class).inNamespace(NAMESPACE).withName(name).get();
    }

    TrainingRunStatus status(String name) {
        TrainingRun run = run(name);
        return run.getStatus() == null ? new TrainingRunStatus() : run.getStatus();
    }

    void patchSpec(String name, String json) {
        client.resources(TrainingRun.class).inNamespace(NAMESPACE).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"spec\":" + json + "}");
    }

    List<Job> jobs(String run) {
        return client.batch().v1().jobs().inNamespace(NAMESPACE).withLabel(TrainingJobs.RUN_LABEL, run).list().getItems();
    }

    Job awaitJob(String name) {
        return await().atMost(PATIENCE).until(() -> client.batch().v1().jobs().inNamespace(NAMESPACE).withName(name).get(),
                java.util.Objects::nonNull);
    }

    /** What the Job controller and kubelet would write: the Job's status and its pod. */
    void drive(Job job, JobStatus status, Pod pod) {
        if (pod != null) {
            client.pods().inNamespace(NAMESPACE).resource(pod).createOr(existing -> existing.update());
        }
        Job current = client.batch().v1().jobs().inNamespace(NAMESPACE).withName(job.getMetadata().getName()).get();
        current.setStatus(status);
        client.batch().v1().jobs().inNamespace(NAMESPACE).resource(current).updateStatus();
    }

    /** What the trainer writes into the status at a checkpoint (RunStatusReporter): the tokens trained and the checkpoint's URI. */
    void trainerCheckpointed(long tokens, String name) {
        client.resources(TrainingRun.class).inNamespace(NAMESPACE).withName(SEED).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"status\": {\"tokensTrained\": %d, \"lastCheckpoint\": \"s3://saeforge/runs/%s/%s\"}}".formatted(tokens, SEED, name));
    }

    /** Waits for the operator to have started attempt {@code attempt}: its Job exists and the status names it. */
    Job awaitAttempt(int attempt) {
        Job job = awaitJob(SEED + "-a" + attempt);
        await().atMost(PATIENCE).until(() -> Integer.valueOf(attempt).equals(status(SEED).attempts));
        return job;
    }

    TrainingRunStatus awaitPhase(String name, Phase phase) {
        await().atMost(PATIENCE).until(() -> status(name).phase == phase);
        return status(name);
    }

    static Condition condition(TrainingRunStatus status, String type) {
        return status.conditions.stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    List<Event> events(String run) {
        return client.v1().events().inNamespace(NAMESPACE).list().getItems().stream()
                .filter(e -> run.equals(e.getInvolvedObject().getName()))
                .sorted(Comparator.comparing(e -> OffsetDateTime.parse(e.getFirstTimestamp())))
                .toList();
    }

    List<String> eventReasons(String run) {
        return events(run).stream().map(Event::getReason).toList();
    }

    /** The seed run submitted to one operator replica, its first attempt's pod running. */
    Job runningSeed() throws Exception {
        api.createServiceAccount(NAMESPACE, "saeforge-trainer");
        operator("replica-1");
        submit(Fixtures.storedSeedRun());
        Job job = awaitJob(SEED + "-a1");
        drive(job, Fixtures.active(1, 1), Fixtures.runningPod(job));
        awaitPhase(SEED, Phase.Running);
        return job;
    }

    /** The seed run, edited, submitted to one operator replica with the trainer's service account in place. */
    void submitSeed(Consumer<TrainingRunSpec> edit) throws Exception {
        api.createServiceAccount(NAMESPACE, "saeforge-trainer");
        operator("replica-1");
        TrainingRun run = Fixtures.storedSeedRun();
        edit.accept(run.getSpec());
        submit(run);
    }

    @Test
    void applyingTheSeedRunCreatesExactlyOneJobAsSpecified() throws Exception {
        api.createServiceAccount(NAMESPACE, "saeforge-trainer");
        operator("replica-1");
        TrainingRun stored = submit(Fixtures.storedSeedRun());

        Job job = awaitJob(SEED + "-a1");
        TrainingRunStatus pending = awaitPhase(SEED, Phase.Pending);

        var pod = job.getSpec().getTemplate().getSpec();
        var trainer = pod.getContainers().get(0);
        assertThat(trainer.getResources().getRequests()).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(trainer.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("1"));
        assertThat(pod.getNodeSelector()).containsExactly(Map.entry("nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB"));
        assertThat(pod.getTolerations()).extracting("key").containsExactly("nvidia.com/gpu");
        assertThat(trainer.getArgs()).containsExactly("train", "--run", "research/qwen3-8b-layer28-mlp", "--grace-period", "290s");
        assertThat(trainer.getEnv()).extracting("name").contains("TRACEPARENT", "QUARKUS_OTEL_EXPORTER_OTLP_ENDPOINT",
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
        assertThat(job.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(owner -> assertThat(owner.getUid()).isEqualTo(stored.getMetadata().getUid()));
        assertThat(pending.jobName).isEqualTo(SEED + "-a1");
        assertThat(pending.observedGeneration).isEqualTo(stored.getMetadata().getGeneration());
        assertThat(pending.traceId).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(eventReasons(SEED)).containsExactly("JobCreated");

        // More reconciles (a spec change, resyncs) leave one Job for the attempt.
        patchSpec(SEED, "{\"maxRestarts\": 5}");
        await().atMost(PATIENCE).until(() -> Long.valueOf(2).equals(status(SEED).observedGeneration));
        assertThat(jobs(SEED)).hasSize(1);
        assertThat(eventReasons(SEED)).containsExactly("JobCreated");
    }

    @Test
    void drivingTheJobMovesThePhaseConditionsAndEvents() throws Exception {
        api.createServiceAccount(NAMESPACE, "saeforge-trainer");
        operator("replica-1");
        submit(Fixtures.storedSeedRun());
        Job job = awaitJob(SEED + "-a1");

        drive(job, Fixtures.active(1, 0), Fixtures.unschedulablePod(job));
        await().atMost(PATIENCE).until(() -> status(SEED).message != null && status(SEED).message.contains("Insufficient nvidia.com/gpu"));
        assertThat(condition(status(SEED), "Running").getReason()).isEqualTo("Unschedulable");
        assertThat(status(SEED).phase).isEqualTo(Phase.Pending);

        drive(job, Fixtures.active(1, 1), Fixtures.runningPod(job));
        TrainingRunStatus running = awaitPhase(SEED, Phase.Running);
        assertThat(condition(running, "Running").getStatus()).isEqualTo("True");
        assertThat(running.startTime).isNotNull();

        drive(job, Fixtures.complete(), null);
        TrainingRunStatus succeeded = awaitPhase(SEED, Phase.Succeeded);
        assertThat(condition(succeeded, "Succeeded").getReason()).isEqualTo("JobComplete");
        assertThat(succeeded.completionTime).isNotNull();
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).size() == 3);
        assertThat(eventReasons(SEED)).containsExactly("JobCreated", "Running", "Succeeded");
        assertThat(events(SEED)).allSatisfy(event -> {
            assertThat(event.getInvolvedObject().getKind()).isEqualTo("TrainingRun");
            assertThat(event.getSource().getComponent()).isEqualTo("saeforge-operator");
        });
    }

    @Test
    void retryableFailuresStartResumingAttemptsUntilTheRestartBudgetRunsOut() throws Exception {
        submitSeed(spec -> spec.maxRestarts = 1);

        Job first = awaitJob(SEED + "-a1");
        drive(first, Fixtures.failed("BackoffLimitExceeded"), Fixtures.exitedPod(first, 75, "Error"));
        Job second = awaitJob(SEED + "-a2");
        assertThat(second.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).contains("--resume");
        await().atMost(PATIENCE).until(() -> Integer.valueOf(1).equals(status(SEED).restarts));
        assertThat(status(SEED).attempts).isEqualTo(2);

        drive(second, Fixtures.failed("BackoffLimitExceeded"), Fixtures.preemptedPod(second));
        TrainingRunStatus failed = awaitPhase(SEED, Phase.Failed);
        assertThat(condition(failed, "Failed").getReason()).isEqualTo("RestartBudgetExhausted");
        assertThat(failed.message).contains("PreemptionByScheduler");
        assertThat(jobs(SEED)).hasSize(2);
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("RestartBudgetExhausted"));
        assertThat(eventReasons(SEED)).containsExactly("JobCreated", "Restarting", "RestartBudgetExhausted");
    }

    @Test
    void fourPreemptionsWithProgressEndInACompletedRunWithMaxRestartsOne() throws Exception {
        submitSeed(spec -> spec.maxRestarts = 1);

        long tokens = 0;
        for (int attempt = 1; attempt <= 4; attempt++) {
            Job job = awaitAttempt(attempt);
            // Each attempt trains on, checkpoints on SIGTERM (a spot reclaim) and exits 75.
            tokens += 245_760_000;
            trainerCheckpointed(tokens, Long.toString(tokens));
            drive(job, Fixtures.failed("BackoffLimitExceeded"), Fixtures.exitedPod(job, 75, "Error"));
            int preemptions = attempt;
            await().atMost(PATIENCE).until(() -> Integer.valueOf(preemptions).equals(status(SEED).preemptions));
            assertThat(status(SEED).tokensTrained).isEqualTo(tokens);
            assertThat(status(SEED).restarts).isZero();
        }
        Job last = awaitAttempt(5);
        trainerCheckpointed(1_228_800_000, "final_1228800000");
        drive(last, Fixtures.complete(), null);

        TrainingRunStatus succeeded = awaitPhase(SEED, Phase.Succeeded);
        assertThat(succeeded.preemptions).isEqualTo(4);
        assertThat(succeeded.restarts).isZero();
        assertThat(succeeded.attempts).isEqualTo(5);
        assertThat(succeeded.tokensTrained).isEqualTo(1_228_800_000L);
        assertThat(jobs(SEED)).hasSize(5);
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("Succeeded"));
        assertThat(eventReasons(SEED)).filteredOn("Preempted"::equals).hasSize(4);
        assertThat(eventReasons(SEED)).doesNotContain("Restarting", "RestartBudgetExhausted");
    }

    @Test
    void aJobDeletedWithItsPodLeftRunningGetsNoSecondTrainerBesideIt() throws Exception {
        Job job = runningSeed();
        String pod = SEED + "-a1-x7k2p";
        assertThat(client.pods().inNamespace(NAMESPACE).withName(pod).get()).isNotNull();

        client.batch().v1().jobs().inNamespace(NAMESPACE).withName(job.getMetadata().getName())
                .withPropagationPolicy(DeletionPropagation.ORPHAN).delete();

        awaitJob(SEED + "-a2");
        assertThat(client.pods().inNamespace(NAMESPACE).withName(pod).get()).as("stopped before the next attempt started").isNull();
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("OrphanedPod"));
    }

    @Test
    void aFinishedJobRemovedByItsTtlBeforeTheOperatorSawItIsNotRestarted() throws Exception {
        Job job = runningSeed();
        trainerCheckpointed(1_228_800_000, "final_1228800000");

        // Completed and removed, pods and all, while the operator was away.
        operators.forEach(Operator::close);
        client.batch().v1().jobs().inNamespace(NAMESPACE).withName(job.getMetadata().getName()).delete();
        client.pods().inNamespace(NAMESPACE).withLabel(TrainingJobs.RUN_LABEL, SEED).delete();
        operator("replica-2");

        TrainingRunStatus succeeded = awaitPhase(SEED, Phase.Succeeded);
        assertThat(condition(succeeded, "Succeeded").getReason()).isEqualTo("FinalCheckpoint");
        assertThat(jobs(SEED)).isEmpty();
        assertThat(succeeded.attempts).isEqualTo(1);
    }

    @Test
    void checkpointsThatWouldVanishWithThePodAreRefusedWithAConditionAndAnEvent() throws Exception {
        submitSeed(spec -> spec.checkpoints.uri = "runs");

        TrainingRunStatus failed = awaitPhase(SEED, Phase.Failed);

        assertThat(condition(failed, "Valid").getMessage()).contains("spec.checkpoints.uri", "pod-local");
        assertThat(jobs(SEED)).isEmpty();
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("InvalidSpec"));
    }

    @Test
    void aFatalExitFailsTheRunWithoutAnotherAttempt() throws Exception {
        api.createServiceAccount(NAMESPACE, "saeforge-trainer");
        operator("replica-1");
        submit(Fixtures.storedSeedRun());
        Job job = awaitJob(SEED + "-a1");

        drive(job, Fixtures.failed("PodFailurePolicy"), Fixtures.exitedPod(job, 2, "Error"));

        TrainingRunStatus failed = awaitPhase(SEED, Phase.Failed);
        assertThat(condition(failed, "Failed").getReason()).isEqualTo("InvalidInput");
        assertThat(jobs(SEED)).hasSize(1);
    }

    @Test
    void cancelStopsTheJobAndTheRunStaysCancelled() throws Exception {
        runningSeed();

        patchSpec(SEED, "{\"cancel\": true}");

        TrainingRunStatus cancelled = awaitPhase(SEED, Phase.Cancelled);
        await().atMost(PATIENCE).until(() -> jobs(SEED).isEmpty());
        assertThat(condition(cancelled, "Cancelled").getReason()).isEqualTo("CancelRequested");
        assertThat(cancelled.completionTime).isNotNull();
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("Cancelled"));
    }

    @Test
    void suspendStopsTheJobAndResumeStartsANewAttemptThatIsNotARestart() throws Exception {
        runningSeed();

        patchSpec(SEED, "{\"suspend\": true}");
        TrainingRunStatus suspended = awaitPhase(SEED, Phase.Suspended);
        await().atMost(PATIENCE).until(() -> jobs(SEED).isEmpty());
        // The garbage collector's part, which the API server here does not play: the Job's foreground deletion takes its pod.
        client.pods().inNamespace(NAMESPACE).withLabel(TrainingJobs.RUN_LABEL, SEED).delete();
        assertThat(condition(suspended, "Suspended").getStatus()).isEqualTo("True");

        patchSpec(SEED, "{\"suspend\": false}");
        Job resumed = awaitJob(SEED + "-a2");
        assertThat(resumed.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).contains("--resume");
        TrainingRunStatus pending = awaitPhase(SEED, Phase.Pending);
        assertThat(pending.restarts).isZero();
        assertThat(condition(pending, "Suspended").getReason()).isEqualTo("Resumed");
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("Resumed"));
        assertThat(eventReasons(SEED)).containsExactly("JobCreated", "Running", "Suspended", "Resumed");
    }

    /** The seed run with a cache generated by {@code indexes} pods first, submitted to one operator replica. */
    Job submitCachedSeed(int indexes) throws Exception {
        api.createServiceAccount(NAMESPACE, "saeforge-trainer");
        operator("replica-1");
        submit(Fixtures.storedCachedSeedRun(indexes));
        return awaitJob(SEED + "-cache");
    }

    Job job(String name) {
        return client.batch().v1().jobs().inNamespace(NAMESPACE).withName(name).get();
    }

    @Test
    void theCacheIsGeneratedByAnIndexedJobAndTrainingStartsOnlyOnceEveryIndexSucceeded() throws Exception {
        Job cache = submitCachedSeed(4);

        assertThat(cache.getSpec().getCompletionMode()).isEqualTo("Indexed");
        assertThat(cache.getSpec().getCompletions()).isEqualTo(4);
        assertThat(cache.getSpec().getParallelism()).isEqualTo(4);
        assertThat(cache.getSpec().getBackoffLimitPerIndex()).isEqualTo(3);
        await().atMost(PATIENCE).until(() -> status(SEED).cache != null);
        assertThat(jobs(SEED)).extracting(j -> j.getMetadata().getName()).containsExactly(SEED + "-cache");

        // Index 0 is done; index 2's pod failed and the Job controller runs index 2 again, alone.
        drive(cache, Fixtures.indexes(3, "0", null, 1), null);
        await().atMost(PATIENCE).until(() -> Integer.valueOf(1).equals(status(SEED).cache.podFailures));
        TrainingRunStatus generating = status(SEED);
        assertThat(generating.cache.succeeded).isEqualTo("0");
        assertThat(generating.cache.active).isEqualTo(3);
        assertThat(generating.phase).isEqualTo(Phase.Running);
        assertThat(condition(generating, "CacheReady").getStatus()).isEqualTo("False");
        assertThat(jobs(SEED)).as("no new Job and no training Job while indexes run").hasSize(1);

        drive(cache, Fixtures.indexes(1, "0-2", null, 1), null);
        await().atMost(PATIENCE).until(() -> "0-2".equals(status(SEED).cache.succeeded));
        assertThat(jobs(SEED)).hasSize(1);

        drive(cache, Fixtures.allIndexesComplete(4), null);
        Job training = awaitJob(SEED + "-a1");
        assertThat(training.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).startsWith("train");
        await().atMost(PATIENCE).until(() -> Integer.valueOf(1).equals(status(SEED).attempts));
        TrainingRunStatus started = status(SEED);
        assertThat(started.cache.phase).isEqualTo(dev.saeforge.api.CacheStatus.Phase.Succeeded);
        assertThat(started.cache.succeeded).isEqualTo("0-3");
        assertThat(condition(started, "CacheReady").getStatus()).isEqualTo("True");
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("JobCreated"));
        assertThat(eventReasons(SEED)).containsExactly("CacheJobCreated", "GeneratingCache", "CachePodFailed", "CacheReady", "JobCreated");
    }

    @Test
    void aCacheJobWhoseIndexUsedUpItsRetriesFailsTheRunWithoutATrainingJob() throws Exception {
        Job cache = submitCachedSeed(4);

        drive(cache, Fixtures.failedIndexes("0-1,3", "2", 4), null);

        TrainingRunStatus failed = awaitPhase(SEED, Phase.Failed);
        assertThat(condition(failed, "Failed").getReason()).isEqualTo("CacheJobFailed");
        assertThat(failed.message).contains("indexes 2 failed after 3 retries each", "indexes 0-1,3 succeeded");
        assertThat(jobs(SEED)).extracting(j -> j.getMetadata().getName()).containsExactly(SEED + "-cache");
    }

    @Test
    void suspendSuspendsTheCacheJobResumeUnsuspendsItAndCancelDeletesIt() throws Exception {
        Job cache = submitCachedSeed(4);
        drive(cache, Fixtures.indexes(4, null, null, 0), null);
        awaitPhase(SEED, Phase.Running);

        patchSpec(SEED, "{\"suspend\": true}");
        awaitPhase(SEED, Phase.Suspended);
        await().atMost(PATIENCE).until(() -> Boolean.TRUE.equals(job(SEED + "-cache").getSpec().getSuspend()));
        assertThat(status(SEED).cache.phase).isEqualTo(dev.saeforge.api.CacheStatus.Phase.Suspended);

        patchSpec(SEED, "{\"suspend\": false}");
        await().atMost(PATIENCE).until(() -> Boolean.FALSE.equals(job(SEED + "-cache").getSpec().getSuspend()));
        assertThat(jobs(SEED)).as("still no training Job").hasSize(1);

        patchSpec(SEED, "{\"cancel\": true}");
        awaitPhase(SEED, Phase.Cancelled);
        await().atMost(PATIENCE).until(() -> jobs(SEED).isEmpty());
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("Cancelled"));
        assertThat(eventReasons(SEED)).containsExactly("CacheJobCreated", "GeneratingCache", "Suspended", "Resumed", "Cancelled");
    }

    @Test
    void cancelWhileTrainingDeletesTheTrainingJobAndTheFinishedCacheJob() throws Exception {
        Job cache = submitCachedSeed(2);
        drive(cache, Fixtures.allIndexesComplete(2), null);
        Job training = awaitJob(SEED + "-a1");
        drive(training, Fixtures.active(1, 1), Fixtures.runningPod(training));
        awaitPhase(SEED, Phase.Running);

        patchSpec(SEED, "{\"cancel\": true}");

        awaitPhase(SEED, Phase.Cancelled);
        await().atMost(PATIENCE).until(() -> jobs(SEED).isEmpty());
        assertThat(status(SEED).message).contains("deleted cache Job " + SEED + "-cache", "deleted Job " + SEED + "-a1");
    }

    @Test
    void anInvalidSpecNeverProducesAJob() throws Exception {
        api.createServiceAccount(NAMESPACE, "saeforge-trainer");
        operator("replica-1");
        TrainingRun run = Fixtures.storedSeedRun();
        run.getSpec().sae.expansionFactor = 4; // besides dSae: the CRD schema cannot say "one of"
        submit(run);

        TrainingRunStatus failed = awaitPhase(SEED, Phase.Failed);

        assertThat(condition(failed, "Failed").getReason()).isEqualTo("InvalidSpec");
        assertThat(condition(failed, "Valid").getMessage()).contains("spec.sae.expansionFactor");
        assertThat(jobs(SEED)).isEmpty();
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains("InvalidSpec"));
    }

    @Test
    void aTrainerIdentityTakenBySomethingElseIsReportedAndTheRunStartsOnceItIsGone() throws Exception {
        api.createServiceAccount(NAMESPACE, SEED + "-trainer"); // not the run's: someone else's account of that name
        operator("replica-1");
        submit(Fixtures.storedSeedRun());

        await().atMost(PATIENCE).until(() -> status(SEED).conditions.stream()
                .anyMatch(c -> "TrainerServiceAccountMissing".equals(c.getReason())));
        assertThat(jobs(SEED)).isEmpty();

        client.serviceAccounts().inNamespace(NAMESPACE).withName(SEED + "-trainer").delete();
        awaitJob(SEED + "-a1");
    }

    @Test
    void withTwoReplicasOnlyTheLeaderReconciles() throws Exception {
        api.createServiceAccount(NAMESPACE, "saeforge-trainer");
        Operator first = operator("replica-1");
        Operator second = operator("replica-2");
        await().atMost(PATIENCE).until(() -> first.isLeader() || second.isLeader());
        Operator leader = first.isLeader() ? first : second;
        Operator standby = leader == first ? second : first;
        String leaderName = leader == first ? "replica-1" : "replica-2";
        String standbyName = leader == first ? "replica-2" : "replica-1";

        submit(Fixtures.storedSeedRun());
        Job job = awaitJob(SEED + "-a1");
        drive(job, Fixtures.active(1, 1), Fixtures.runningPod(job));
        awaitPhase(SEED, Phase.Running);

        Lease lease = client.leases().inNamespace("saeforge-system").withName("saeforge-operator").get();
        assertThat(lease.getSpec().getHolderIdentity()).isEqualTo(leaderName);
        assertThat(standby.isLeader()).isFalse();
        assertThat(standby.isHealthy()).as("a standby is healthy").isTrue();
        assertThat(jobs(SEED)).hasSize(1);
        assertThat(events(SEED)).extracting(Event::getReportingInstance).containsOnly(leaderName);

        // The leader goes away (releasing its lease): the standby takes over and reconciles.
        leader.close();
        await().atMost(PATIENCE).until(standby::isLeader);
        TrainingRun second2 = Fixtures.storedSeedRun();
        second2.getMetadata().setName("second-run");
        submit(second2);
        awaitJob("second-run-a1");
        await().atMost(PATIENCE).until(() -> !events("second-run").isEmpty());
        assertThat(events("second-run")).extracting(Event::getReportingInstance).containsOnly(standbyName);
        assertThat(jobs(SEED)).hasSize(1);
    }

    @Test
    void eachRunsTrainerGetsAnIdentityThatReachesItsOwnRunOnly() throws Exception {
        operator("replica-1");
        TrainingRun seed = submit(Fixtures.storedSeedRun());
        TrainingRun other = Fixtures.storedSeedRun();
        other.getMetadata().setName("second-run");
        other = submit(other);

        for (TrainingRun run : List.of(seed, other)) {
            String name = run.getMetadata().getName();
            String identity = name + "-trainer";
            Job job = awaitJob(name + "-a1");
            assertThat(job.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo(identity);
            ServiceAccount account = client.serviceAccounts().inNamespace(NAMESPACE).withName(identity).get();
            Role role = client.rbac().roles().inNamespace(NAMESPACE).withName(identity).get();
            RoleBinding binding = client.rbac().roleBindings().inNamespace(NAMESPACE).withName(identity).get();
            assertThat(role.getRules()).extracting(rule -> String.join(",", rule.getResources()) + " " + String.join(",", rule.getVerbs())
                    + " " + rule.getResourceNames()).containsExactlyInAnyOrder(
                    "trainingruns get [" + name + "]", "trainingruns/status patch [" + name + "]");
            assertThat(binding.getRoleRef().getName()).isEqualTo(identity);
            assertThat(binding.getSubjects()).extracting("kind", "name", "namespace")
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("ServiceAccount", identity, NAMESPACE));
            // Owned by the run: deleting the run deletes them.
            for (var object : List.of(account, role, binding)) {
                assertThat(object.getMetadata().getOwnerReferences()).singleElement()
                        .satisfies(owner -> assertThat(owner.getUid()).isEqualTo(run.getMetadata().getUid()));
            }
        }
    }

    @Test
    void anEditOfAStartedRunsSpecIsRefusedAndTheJobKeepsTheSpecItStartedWith() throws Exception {
        Job job = runningSeed();
        String startedFrom = status(SEED).specHash;
        assertThat(startedFrom).isNotNull();

        // What may change while it runs does.
        patchSpec(SEED, "{\"maxRestarts\": 5, \"telemetry\": {\"otlpEndpoint\": \"http://other-collector:4317\"}}");
        await().atMost(PATIENCE).until(() -> Long.valueOf(2).equals(status(SEED).observedGeneration));
        assertThat(status(SEED).conditions).extracting(Condition::getType).doesNotContain(SpecLock.CONDITION);

        patchSpec(SEED, "{\"hook\": \"blocks.20.hook_resid_post\"}");
        await().atMost(PATIENCE).until(() -> status(SEED).conditions.stream()
                .anyMatch(c -> SpecLock.CONDITION.equals(c.getType()) && "True".equals(c.getStatus())));
        await().atMost(PATIENCE).until(() -> eventReasons(SEED).contains(SpecLock.CONDITION));
        TrainingRunStatus refused = status(SEED);
        assertThat(condition(refused, SpecLock.CONDITION).getMessage()).contains("only suspend, cancel, maxRestarts");
        assertThat(refused.phase).isEqualTo(Phase.Running);
        assertThat(refused.specHash).isEqualTo(startedFrom);
        assertThat(jobs(SEED)).extracting(j -> j.getMetadata().getUid()).containsExactly(job.getMetadata().getUid());

        // The attempt ends: no new one starts from the edited spec.
        drive(job, Fixtures.failed("BackoffLimitExceeded"), Fixtures.preemptedPod(job));
        await().atMost(PATIENCE).until(() -> SpecLock.CONDITION.equals(condition(status(SEED), "Running").getReason()));
        assertThat(jobs(SEED)).hasSize(1);

        // Changed back, the run goes on.
        patchSpec(SEED, "{\"hook\": \"blocks.28.hook_mlp_out\"}");
        awaitJob(SEED + "-a2");
        await().atMost(PATIENCE).until(() -> SpecLock.RESTORED.equals(condition(status(SEED), SpecLock.CONDITION).getReason()));
    }
}
