package dev.saeforge.operator;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.store.CheckpointRef;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * What the current attempt's Job and pods say about it: one of a few states, a reason in
 * CamelCase and a message a researcher can act on ("cannot be scheduled: 0/4 nodes have ...").
 *
 * @param job the Job's name, null before the first attempt
 */
public record Attempt(State state, String job, String reason, String message) {
    public enum State {
        /** No attempt started yet. */
        NOT_STARTED,
        /** The Job is gone although it never finished, and none of its pods runs: deleted by someone, or by us on suspend. */
        MISSING,
        /** The Job is being deleted and its pod may still be terminating, or it is gone and left a pod running. */
        STOPPING,
        /** The Job exists; its pod is not running yet (being scheduled, pulling, or blocked). */
        WAITING,
        RUNNING,
        SUCCEEDED,
        /** Failed in a way a new attempt that resumes from the last checkpoint may fix. */
        RETRYABLE,
        /** Failed in a way another attempt cannot fix: exit 1 or 2. */
        FATAL
    }

    /** A Job in one of these states still holds (or is about to hold) a GPU. */
    public boolean active() {
        return state == State.WAITING || state == State.RUNNING;
    }

    /**
     * @param lastCheckpoint the newest checkpoint the trainer reported in the run's status: a final
     *                       one means the trainer finished, whether or not its Job is still there
     */
    public static Attempt observe(String jobName, Job job, List<Pod> pods, String lastCheckpoint) {
        if (jobName == null) {
            return new Attempt(State.NOT_STARTED, null, "NotStarted", "no attempt started yet");
        }
        if (job == null) {
            return gone(jobName, pods, lastCheckpoint);
        }
        if (job.getMetadata().getDeletionTimestamp() != null) {
            return new Attempt(State.STOPPING, jobName, "JobStopping", "Job " + jobName + " is being deleted");
        }
        Optional<Pod> pod = pods.stream().max(Comparator.comparing(p -> p.getMetadata().getCreationTimestamp(),
                Comparator.nullsFirst(Comparator.naturalOrder())));
        if (condition(job, "Complete")) {
            return new Attempt(State.SUCCEEDED, jobName, "JobComplete", "Job " + jobName + " completed");
        }
        Optional<JobCondition> failed = conditionOf(job, "Failed");
        if (failed.isPresent()) {
            return failure(jobName, failed.get(), pod.orElse(null));
        }
        Integer ready = job.getStatus() == null ? null : job.getStatus().getReady();
        Integer active = job.getStatus() == null ? null : job.getStatus().getActive();
        // status.ready counts pods that are up; a pod that waits for a GPU node is active, not ready.
        if (ready != null ? ready > 0 : active != null && active > 0) {
            String where = pod.map(p -> "pod " + p.getMetadata().getName()
                    + (p.getSpec() != null && p.getSpec().getNodeName() != null ? " on node " + p.getSpec().getNodeName() : "")).orElse("its pod");
            return new Attempt(State.RUNNING, jobName, "PodRunning", "Job " + jobName + " is running (" + where + ")");
        }
        return pod.map(p -> waiting(jobName, p))
                .orElseGet(() -> new Attempt(State.WAITING, jobName, "JobCreated", created(jobName)));
    }

    /**
     * The attempt whose Job is gone: finished if its trainer reported the final checkpoint (a Job
     * removed by its ttlSecondsAfterFinished before the operator saw it complete), still stopping
     * while a pod of it runs (a Job deleted with --cascade=orphan, or whose pods are terminating),
     * and only then lost.
     */
    private static Attempt gone(String jobName, List<Pod> pods, String lastCheckpoint) {
        if (lastCheckpoint != null && lastCheckpoint.substring(lastCheckpoint.lastIndexOf('/') + 1).startsWith(CheckpointRef.FINAL_PREFIX)) {
            return new Attempt(State.SUCCEEDED, jobName, "FinalCheckpoint", "Job " + jobName
                    + " is gone, and its trainer reported the final checkpoint " + lastCheckpoint);
        }
        List<String> running = pods.stream().filter(Attempt::live).map(p -> p.getMetadata().getName()).toList();
        if (!running.isEmpty()) {
            return new Attempt(State.STOPPING, jobName, "JobDeletedPodRunning", "Job " + jobName + " was deleted, but its pod "
                    + String.join(", ", running) + " still runs");
        }
        return new Attempt(State.MISSING, jobName, "JobDeleted", "Job " + jobName + " was deleted before it finished");
    }

    /**
     * Pods of an attempt whose Job is gone that still run and that nobody stops: the operator
     * deletes them, so that a new attempt never trains beside one left behind.
     */
    static List<String> orphans(Job job, List<Pod> pods) {
        return job != null ? List.of() : pods.stream()
                .filter(p -> live(p) && p.getMetadata().getDeletionTimestamp() == null)
                .map(p -> p.getMetadata().getName()).toList();
    }

    /** A pod that has not terminated: running, or about to. */
    private static boolean live(Pod pod) {
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        return !"Succeeded".equals(phase) && !"Failed".equals(phase);
    }

    /** What a Job without a pod yet is waiting for. */
    static String created(String jobName) {
        return "Job " + jobName + " was created; waiting for its pod";
    }

    private static Attempt failure(String jobName, JobCondition failed, Pod pod) {
        String detail = pod == null ? null : podFailure(pod);
        String message = "Job " + jobName + " failed: " + (detail != null ? detail
                : failed.getReason() + (failed.getMessage() == null ? "" : ": " + failed.getMessage()));
        if (TrainingJobs.FATAL_FAILURE_REASON.equals(failed.getReason())) {
            Integer exit = pod == null ? null : exitCode(pod).map(ContainerStateTerminated::getExitCode).orElse(null);
            String reason = exit != null && exit == ExitCodes.INVALID_INPUT ? "InvalidInput"
                    : exit != null && exit == ExitCodes.FAILURE ? "TrainerFailed" : "JobFailed";
            return new Attempt(State.FATAL, jobName, reason, message);
        }
        String reason = pod != null && disruption(pod).isPresent() ? "Preempted"
                : pod != null && exitCode(pod).map(t -> t.getExitCode() == ExitCodes.RESUME).orElse(false) ? "Checkpointed"
                : "AttemptFailed";
        return new Attempt(State.RETRYABLE, jobName, reason, message);
    }

    /** Why the pod ended, in words: disrupted, asked to be resumed, or the exit code and its reason. */
    private static String podFailure(Pod pod) {
        String name = "pod " + pod.getMetadata().getName();
        Optional<PodCondition> disruption = disruption(pod);
        if (disruption.isPresent()) {
            return name + " was stopped by the cluster (" + disruption.get().getReason()
                    + (disruption.get().getMessage() == null ? "" : ": " + disruption.get().getMessage()) + ")";
        }
        return exitCode(pod).map(t -> {
            int code = t.getExitCode();
            String meaning = code == ExitCodes.RESUME ? " (checkpointed; asks to be resumed)"
                    : code == ExitCodes.INVALID_INPUT ? " (invalid spec or input)"
                    : t.getReason() != null && !t.getReason().equals("Error") ? " (" + t.getReason() + ")" : "";
            String said = t.getMessage() == null || t.getMessage().isBlank() ? "" : ": " + t.getMessage().strip();
            return name + " exited with code " + code + meaning + said;
        }).orElse(null);
    }

    /** A pod that is not running yet, and the most specific reason why. */
    private static Attempt waiting(String jobName, Pod pod) {
        String name = "pod " + pod.getMetadata().getName();
        if (pod.getStatus() != null) {
            for (PodCondition condition : nonNull(pod.getStatus().getConditions())) {
                if ("PodScheduled".equals(condition.getType()) && "False".equals(condition.getStatus())) {
                    String reason = condition.getReason() == null ? "Unschedulable" : condition.getReason();
                    return new Attempt(State.WAITING, jobName, reason, name + " cannot be scheduled yet"
                            + (condition.getMessage() == null ? "" : ": " + condition.getMessage()));
                }
            }
            for (ContainerStatus status : nonNull(pod.getStatus().getContainerStatuses())) {
                ContainerStateWaiting waiting = status.getState() == null ? null : status.getState().getWaiting();
                if (waiting != null && waiting.getReason() != null) {
                    return new Attempt(State.WAITING, jobName, waiting.getReason(), name + ": container " + status.getName()
                            + " is waiting: " + waiting.getReason() + (waiting.getMessage() == null ? "" : ": " + waiting.getMessage()));
                }
            }
        }
        return new Attempt(State.WAITING, jobName, "PodPending", name + " is starting");
    }

    private static Optional<PodCondition> disruption(Pod pod) {
        return pod.getStatus() == null ? Optional.empty() : nonNull(pod.getStatus().getConditions()).stream()
                .filter(c -> TrainingJobs.DISRUPTION_CONDITION.equals(c.getType()) && "True".equals(c.getStatus()))
                .findFirst();
    }

    private static Optional<ContainerStateTerminated> exitCode(Pod pod) {
        return pod.getStatus() == null ? Optional.empty() : nonNull(pod.getStatus().getContainerStatuses()).stream()
                .filter(s -> TrainingJobs.CONTAINER.equals(s.getName()))
                .map(s -> s.getState() == null ? null : s.getState().getTerminated())
                .filter(java.util.Objects::nonNull)
                .findFirst();
    }

    private static boolean condition(Job job, String type) {
        return conditionOf(job, type).isPresent();
    }

    static Optional<JobCondition> conditionOf(Job job, String type) {
        return job.getStatus() == null ? Optional.empty() : nonNull(job.getStatus().getConditions()).stream()
                .filter(c -> type.equals(c.getType()) && "True".equals(c.getStatus()))
                .findFirst();
    }

    private static <T> List<T> nonNull(List<T> list) {
        return list == null ? List.of() : list;
    }
}
