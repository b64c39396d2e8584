package dev.saeforge.operator;

import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;

import java.nio.file.Path;

/** The seed example as the API server would hold it, and Job and pod states as the Job controller and kubelet write them. */
final class Fixtures {
    static final String NAMESPACE = "research";
    static final String SEED = "qwen3-8b-layer28-mlp";
    static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private Fixtures() {
    }

    /** examples/qwen3-8b-layer28.yaml, validated and normalised as saeforge submit sends it. */
    static TrainingRun seedRun() throws Exception {
        TrainingRun run = TrainingRuns.read(Path.of("examples/qwen3-8b-layer28.yaml")).get(0);
        run.getMetadata().setNamespace(NAMESPACE);
        return run;
    }

    /** The seed run as stored: with a uid, a generation and the submit trace's context. */
    static TrainingRun storedSeedRun() throws Exception {
        TrainingRun run = seedRun();
        run.getMetadata().setUid("0b6f2a8e-5d1c-4e0b-9a51-3c1b2f6d7e80");
        run.getMetadata().setGeneration(1L);
        run.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
        run.getMetadata().setAnnotations(new java.util.HashMap<>(java.util.Map.of(TrainingRun.TRACEPARENT_ANNOTATION, TRACEPARENT)));
        return run;
    }

    /** The seed run generating its activation cache first, in an Indexed Job of {@code indexes} pods. */
    static TrainingRun storedCachedSeedRun(int indexes) throws Exception {
        TrainingRun run = storedSeedRun();
        run.getSpec().activations = new dev.saeforge.api.ActivationsSpec();
        run.getSpec().activations.cache = new dev.saeforge.api.ActivationCacheSpec();
        run.getSpec().activations.cache.uri = "s3://saeforge/cache/qwen3-8b-layer28";
        run.getSpec().activations.parallelism = indexes;
        return run;
    }

    /**
     * An Indexed Job's status as the Job controller writes it: indexes done and failed for good
     * (ranges such as 0-3,5), pods running, and pods that failed so far (retried or not).
     */
    static JobStatus indexes(int active, String completed, String failedForGood, int failedPods) {
        return new JobStatusBuilder().withActive(active).withReady(active).withCompletedIndexes(completed)
                .withFailedIndexes(failedForGood).withFailed(failedPods).withSucceeded(completed == null ? 0 : dev.saeforge.api.CacheStatus.count(completed))
                .build();
    }

    /** An Indexed Job every index of which succeeded. */
    static JobStatus allIndexesComplete(int indexes) {
        return new JobStatusBuilder(complete()).withSucceeded(indexes).withCompletedIndexes(indexes == 1 ? "0" : "0-" + (indexes - 1)).build();
    }

    /** An Indexed Job that failed because {@code failedForGood} used up their retries (reason FailedIndexes). */
    static JobStatus failedIndexes(String completed, String failedForGood, int failedPods) {
        return new JobStatusBuilder().withCompletedIndexes(completed).withFailedIndexes(failedForGood).withFailed(failedPods)
                .withConditions(new JobConditionBuilder().withType("FailureTarget").withStatus("True").withReason("FailedIndexes").build(),
                        new JobConditionBuilder().withType("Failed").withStatus("True").withReason("FailedIndexes")
                                .withMessage("Job has failed indexes").build()).build();
    }

    static JobStatus active(int active, int ready) {
        return new JobStatusBuilder().withActive(active).withReady(ready).build();
    }

    static JobStatus complete() {
        return new JobStatusBuilder().withSucceeded(1).withConditions(
                new JobConditionBuilder().withType("SuccessCriteriaMet").withStatus("True").build(),
                new JobConditionBuilder().withType("Complete").withStatus("True").build()).build();
    }

    /** Failed as the Job controller says it: reason PodFailurePolicy (a FailJob rule) or BackoffLimitExceeded. */
    static JobStatus failed(String reason) {
        return new JobStatusBuilder().withFailed(1).withConditions(
                new JobConditionBuilder().withType("FailureTarget").withStatus("True").withReason(reason).build(),
                new JobConditionBuilder().withType("Failed").withStatus("True").withReason(reason)
                        .withMessage(reason.equals("PodFailurePolicy") ? "Container trainer for pod x exited with code 2 matching FailJob rule at index 2"
                                : "Job has reached the specified backoff limit").build()).build();
    }

    static Job withStatus(Job job, JobStatus status) {
        return new JobBuilder(job).withStatus(status).build();
    }

    /** The attempt's pod, labelled as the Job controller copies the template's labels, with a terminated trainer. */
    static Pod exitedPod(Job job, int exitCode, String reason) {
        return new PodBuilder(pod(job))
                .editStatus().withPhase("Failed")
                .addToContainerStatuses(new ContainerStatusBuilder().withName(TrainingJobs.CONTAINER)
                        .withNewState().withNewTerminated().withExitCode(exitCode).withReason(reason).endTerminated().endState().build())
                .endStatus().build();
    }

    /** A pod the scheduler preempted: DisruptionTarget, then killed (exit 143). */
    static Pod preemptedPod(Job job) {
        return new PodBuilder(exitedPod(job, 143, "Error"))
                .editStatus().addToConditions(new PodConditionBuilder().withType(TrainingJobs.DISRUPTION_CONDITION).withStatus("True")
                        .withReason("PreemptionByScheduler").withMessage("Preempted in order to admit critical pod").build())
                .endStatus().build();
    }

    static Pod unschedulablePod(Job job) {
        return new PodBuilder(pod(job))
                .editStatus().withPhase("Pending").addToConditions(new PodConditionBuilder().withType("PodScheduled").withStatus("False")
                        .withReason("Unschedulable").withMessage("0/4 nodes are available: 4 Insufficient nvidia.com/gpu.").build())
                .endStatus().build();
    }

    static Pod runningPod(Job job) {
        return new PodBuilder(pod(job)).editSpec().withNodeName("gpu-node-1").endSpec()
                .editStatus().withPhase("Running").endStatus().build();
    }

    private static Pod pod(Job job) {
        return new PodBuilder()
                .withNewMetadata()
                .withName(job.getMetadata().getName() + "-x7k2p")
                .withNamespace(job.getMetadata().getNamespace())
                .withLabels(job.getSpec().getTemplate().getMetadata().getLabels())
                .addToLabels("batch.kubernetes.io/job-name", job.getMetadata().getName())
                .withCreationTimestamp("2026-01-01T00:01:00Z")
                .endMetadata()
                .withSpec(job.getSpec().getTemplate().getSpec())
                .withNewStatus().endStatus()
                .build();
    }
}
