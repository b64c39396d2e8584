package dev.saeforge.operator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

import java.net.HttpURLConnection;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * One reconcile of one run: observe (the run fresh from the API server, its current Job and pods
 * from the informers' caches), decide ({@link Reconciliation#plan}), apply (Job first, then the
 * status, then the Events).
 */
public final class Reconciler {
    /** Where the informers keep the Jobs and pods the operator manages. */
    public interface Cache {
        /** The Job, or null when the cache has not seen it. */
        Job job(String namespace, String name);

        /** The pods of one attempt of a run. */
        List<Pod> pods(String namespace, String run, int attempt);
    }

    /** Thrown to have the work queue look at a run again after a back-off. */
    public static final class RetryLater extends RuntimeException {
        public RetryLater(String message) {
            super(message, null, false, false);
        }
    }

    /** How often a status write refused for a conflict is made again on a fresh read before the work queue backs off. */
    static final int CONFLICT_RETRIES = 3;

    private final KubernetesClient client;
    private final OperatorConfig config;
    private final Cache cache;
    private final RunEvents events;
    private final Clock clock;
    private final BooleanSupplier leading;

    /** @param leading whether this replica holds the leader lease now; nothing is written while it does not */
    public Reconciler(KubernetesClient client, OperatorConfig config, Cache cache, RunEvents events, Clock clock, BooleanSupplier leading) {
        this.client = client;
        this.config = config;
        this.cache = cache;
        this.events = events;
        this.clock = clock;
        this.leading = leading;
    }

    public void reconcile(String namespace, String name) {
        fence();
        // Read fresh, not from the cache: the status is the run's memory and must include our last write.
        TrainingRun run = client.resources(TrainingRun.class).inNamespace(namespace).withName(name).get();
        if (run == null || run.getMetadata().getDeletionTimestamp() != null) {
            return; // its Jobs go with it, through their owner references
        }
        TrainingRunStatus status = run.getStatus() == null ? new TrainingRunStatus() : run.getStatus();
        Job job = null;
        List<Pod> pods = List.of();
        if (status.jobName != null) {
            job = ownedBy(run, job(namespace, status.jobName));
            boolean finished = status.phase != null && status.phase.isFinal();
            pods = status.attempts == null ? List.of() : job != null || finished ? cache.pods(namespace, name, status.attempts)
                    : podsOf(namespace, name, status.attempts);
        }
        // The cache Job matters before the first attempt (afterwards the cache is complete), and to a cancel, which deletes it.
        Job cacheJob = (status.jobName == null || run.getSpec().cancel) && TrainingJobs.buildsCacheFirst(run)
                ? ownedBy(run, job(namespace, TrainingJobs.cacheName(run))) : null;
        // The trainer's identity is needed only by a run that may still start an attempt.
        boolean trainerAccess = Reconciliation.isFinal(status, run) || TrainerAccess.ensure(client, run);
        Reconciliation.Observed observed = new Reconciliation.Observed(run, job, pods, trainerAccess, clock.instant(), cacheJob);
        Reconciliation.Plan plan = Reconciliation.plan(observed, config);
        apply(observed, plan);
    }

    private void apply(Reconciliation.Observed observed, Reconciliation.Plan plan) {
        TrainingRun run = observed.run();
        String namespace = run.getMetadata().getNamespace();
        fence();
        Reconciliation.CacheAction cache = plan.cache();
        if (cache.delete() != null) {
            client.batch().v1().jobs().inNamespace(namespace).withName(cache.delete())
                    .withPropagationPolicy(DeletionPropagation.FOREGROUND).delete();
        }
        if (cache.suspend() != null) {
            client.batch().v1().jobs().inNamespace(namespace).withName(TrainingJobs.cacheName(run))
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"suspend\":" + cache.suspend() + "}}");
        }
        if (cache.create() != null) {
            createOrSayWhyNot(observed, cache.create());
        }
        for (String pod : plan.deletePods()) {
            // Graceful: the trainer checkpoints on SIGTERM before it goes.
            client.pods().inNamespace(namespace).withName(pod).delete();
        }
        if (plan.delete() != null) {
            // Foreground: the Job stays (STOPPING) until its pod is gone, so attempts never overlap.
            client.batch().v1().jobs().inNamespace(namespace).withName(plan.delete())
                    .withPropagationPolicy(DeletionPropagation.FOREGROUND).delete();
        }
        if (plan.create() != null) {
            createOrSayWhyNot(observed, plan.create());
        }
        writeStatus(run, plan.status());
        fence();
        plan.events().forEach(event -> events.record(run, event));
        if (plan.retryLater()) {
            throw new RetryLater(plan.status().message);
        }
    }

    /** Creates the Job; when the API server refuses it, the status says so before the error goes on to the work queue. */
    private void createOrSayWhyNot(Reconciliation.Observed observed, Job job) {
        TrainingRun run = observed.run();
        try {
            create(run, job);
        } catch (KubernetesClientException e) {
            Reconciliation.Plan failed = Reconciliation.creationFailed(observed, job.getMetadata().getName(), explain(e));
            writeStatus(run, failed.status());
            failed.events().forEach(event -> events.record(run, event));
            throw e;
        }
    }

    /** Creates the Job; one that exists already under its deterministic name is this attempt's, if the run owns it. */
    private void create(TrainingRun run, Job job) {
        String namespace = run.getMetadata().getNamespace();
        try {
            client.batch().v1().jobs().inNamespace(namespace).resource(job).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                throw e;
            }
            Job existing = client.batch().v1().jobs().inNamespace(namespace).withName(job.getMetadata().getName()).get();
            if (existing != null && ownedBy(run, existing) == null) {
                throw new RetryLater("Job " + job.getMetadata().getName() + " exists and belongs to another TrainingRun "
                        + "(an earlier run of the same name?); waiting for it to be deleted");
            }
        }
    }

    /**
     * Writes the operator's fields of the status, and only those, and only the ones that changed,
     * on condition that the run is as {@code read}. A conflict caused by the trainer's progress
     * reports (the operator's fields and the spec as read) is written again on the fresh read; any
     * other change means the decision is stale (a newer leader decided, the spec changed), so
     * nothing is written and the run is decided again.
     */
    void writeStatus(TrainingRun read, TrainingRunStatus status) {
        ObjectNode before = operatorFields(read.getStatus());
        ObjectNode after = operatorFields(status);
        TrainingRun run = read;
        for (int tries = 1; ; tries++) {
            fence();
            try {
                StatusPatch.write(client, run, before, after);
                return;
            } catch (KubernetesClientException e) {
                if (!StatusPatch.isConflict(e) || tries > CONFLICT_RETRIES) {
                    throw e;
                }
            }
            run = StatusPatch.reread(client, read);
            if (run == null) {
                return; // deleted meanwhile
            }
            if (!operatorFields(run.getStatus()).equals(before)
                    || !Objects.equals(run.getMetadata().getGeneration(), read.getMetadata().getGeneration())) {
                throw new RetryLater("TrainingRun " + TrainingJobs.runReference(read) + " changed since it was read; deciding again");
            }
        }
    }

    /** Writes only while this replica leads: a replica that lost the lease leaves the run to the new leader. */
    private void fence() {
        if (!leading.getAsBoolean()) {
            throw new RetryLater("not the leader; leaving the run to the leader");
        }
    }

    static ObjectNode operatorFields(TrainingRunStatus status) {
        return StatusPatch.fields(status, TrainingRunStatus.OPERATOR_FIELDS);
    }

    private Job job(String namespace, String name) {
        Job cached = cache.job(namespace, name);
        // A cache that has not seen the Job yet is not proof that it is gone: ask the API server.
        return cached != null ? cached : client.batch().v1().jobs().inNamespace(namespace).withName(name).get();
    }

    /**
     * The pods of an attempt whose Job is gone, from the API server: before a new attempt starts,
     * a cache that has not seen a pod is no proof that none runs.
     */
    private List<Pod> podsOf(String namespace, String run, int attempt) {
        return client.pods().inNamespace(namespace).withLabel(TrainingJobs.RUN_LABEL, run)
                .withLabel(TrainingJobs.ATTEMPT_LABEL, Integer.toString(attempt)).list().getItems();
    }

    static <T extends HasMetadata> T ownedBy(TrainingRun run, T object) {
        if (object == null || object.getMetadata().getOwnerReferences() == null) {
            return null;
        }
        for (OwnerReference owner : object.getMetadata().getOwnerReferences()) {
            if (Boolean.TRUE.equals(owner.getController()) && Objects.equals(owner.getUid(), run.getMetadata().getUid())) {
                return object;
            }
        }
        return null;
    }

    /** An API error in one line: the server's message when it sent one. */
    static String explain(KubernetesClientException e) {
        if (e.getStatus() != null && e.getStatus().getMessage() != null) {
            return e.getStatus().getMessage();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse(e.toString());
    }
}
