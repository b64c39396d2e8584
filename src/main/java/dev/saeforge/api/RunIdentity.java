package dev.saeforge.api;

import java.util.regex.Pattern;

/**
 * Which run a trainer works for, without the custom resource: what the trainer takes beside the
 * {@link TrainingRunSpec}, so that training code knows nothing of Kubernetes objects.
 *
 * @param namespace the run's namespace; null for a file not yet applied to a cluster
 * @param name      metadata.name: checkpoints are kept under it (and under the namespace, in a cluster)
 * @param uid       the cluster's uid of the run; null outside a cluster
 * @param attempt   which attempt of the operator's Jobs this process is, 1 the first; null when not known
 */
public record RunIdentity(String namespace, String name, String uid, Integer attempt) {
    /** The variable an operator's Job sets to its attempt number. */
    public static final String ATTEMPT_VARIABLE = "SAEFORGE_ATTEMPT";
    /** A DNS-1123 label, what Kubernetes allows as a namespace: one safe path segment. */
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    /** The identity of {@code run} as read from a file or the cluster; its attempt is not in the document. */
    public static RunIdentity of(TrainingRun run) {
        var metadata = run.getMetadata();
        return new RunIdentity(metadata.getNamespace(), metadata.getName(), metadata.getUid(), null);
    }

    /**
     * Whether the run is a cluster's object: it has a namespace and the uid the API server gave it.
     * A file run through {@code saeforge train -f} has no uid, even with a namespace written in it.
     */
    public boolean inCluster() {
        return namespace != null && uid != null;
    }

    /**
     * Where this run's checkpoint store is, given spec.checkpoints.uri: {@code <uri>/<namespace>} in a
     * cluster, so that runs of one name in two namespaces never share checkpoints; {@code uri} itself
     * for a local run. The run's checkpoints are under {@code <that>/<name>/}.
     */
    public String checkpointLocation(String uri) {
        return inCluster() ? namespacedLocation(uri, namespace) : uri;
    }

    /** The location of namespace {@code namespace}'s runs in checkpoint location {@code uri}. */
    public static String namespacedLocation(String uri, String namespace) {
        if (!NAMESPACE.matcher(namespace).matches()) {
            throw new IllegalArgumentException("namespace \"" + namespace + "\" is not a Kubernetes namespace name; expected at most 63 "
                    + "lowercase letters, digits or '-', starting and ending with a letter or digit");
        }
        return uri.replaceAll("/+$", "") + "/" + namespace;
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
