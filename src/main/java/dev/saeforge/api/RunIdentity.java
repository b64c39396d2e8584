package dev.saeforge.api;

/**
 * Which run a trainer works for, without the custom resource: what the trainer takes beside the
 * {@link TrainingRunSpec}, so that training code knows nothing of Kubernetes objects.
 *
 * @param namespace the run's namespace; null for a file not yet applied to a cluster
 * @param name      metadata.name: checkpoints are kept under it
 * @param uid       the cluster's uid of the run; null outside a cluster
 * @param attempt   which attempt of the operator's Jobs this process is, 1 the first; null when not known
 */
public record RunIdentity(String namespace, String name, String uid, Integer attempt) {

    /** The identity of {@code run} as read from a file or the cluster; its attempt is not in the document. */
    public static RunIdentity of(TrainingRun run) {
        var metadata = run.getMetadata();
        return new RunIdentity(metadata.getNamespace(), metadata.getName(), metadata.getUid(), null);
    }
}
