package dev.saeforge.operator;

import dev.saeforge.api.CacheStatus;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;

/** What a run's cache Job ({@link TrainingJobs#desiredCache}) says about itself. */
final class CacheJobs {
    private CacheJobs() {
    }

    /** Whether the Job exists, is not being deleted, and has not finished: its pods run or will. */
    static boolean running(Job job) {
        return job != null && job.getMetadata().getDeletionTimestamp() == null
                && condition(job, "Complete") == null && condition(job, "Failed") == null;
    }

    /** Whether the Job's spec.suspend is set: its pods are stopped, its completed indexes kept. */
    static boolean suspended(Job job) {
        return job.getSpec() != null && Boolean.TRUE.equals(job.getSpec().getSuspend());
    }

    /** The condition of that type that is True, or null. */
    static JobCondition condition(Job job, String type) {
        return Attempt.conditionOf(job, type).orElse(null);
    }

    /** The run's status.cache as the Job's status tells it: its indexes, as ranges, and its pods. */
    static CacheStatus status(Job job, CacheStatus.Phase phase) {
        CacheStatus cache = new CacheStatus();
        cache.job = job.getMetadata().getName();
        cache.phase = phase;
        cache.indexes = job.getSpec() == null ? null : job.getSpec().getCompletions();
        JobStatus status = job.getStatus();
        if (status != null) {
            cache.succeeded = blankToNull(status.getCompletedIndexes());
            cache.failed = blankToNull(status.getFailedIndexes());
            cache.active = status.getActive();
            cache.podFailures = status.getFailed();
        }
        return cache;
    }

    private static String blankToNull(String ranges) {
        return ranges == null || ranges.isBlank() ? null : ranges;
    }
}
