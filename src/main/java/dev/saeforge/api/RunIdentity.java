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
    /** The variable an operator's Job sets to its attempt number. */
    public static final String ATTEMPT_VARIABLE = "SAEFORGE_ATTEMPT";

    /** The identity of {@code run} as read from a file or the cluster; its attempt is not in the document. */
    public static RunIdentity of(TrainingRun run) {
        var metadata = run.getMetadata();
        return new RunIdentity(metadata.getNamespace(), metadata.getName(), metadata.getUid(), null);
    }

    /** The same run, as attempt {@code value} of {@link #ATTEMPT_VARIABLE} says (unset or blank: unknown). */
    public RunIdentity withAttempt(String value) {
        if (value == null || value.isBlank()) {
            return this;
        }
        try {
            return new RunIdentity(namespace, name, uid, Integer.parseInt(value.strip()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(ATTEMPT_VARIABLE + " is \"" + value + "\"; expected the attempt number, a whole number");
        }
    }
}
