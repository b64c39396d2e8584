package dev.saeforge.cli;

import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.concurrent.TimeoutException;

/**
 * What the cluster commands share: -n/--namespace with kubectl's default (the namespace of the
 * current kubeconfig context, else "default"), and one-line explanations of API failures.
 */
final class ClusterAccess {
    /** The -n/--namespace option, mixed into every command that works on runs in one namespace. */
    static final class NamespaceOption {
        @Option(names = {"-n", "--namespace"}, paramLabel = "NAMESPACE",
                description = "Namespace of the runs; defaults to the current kubeconfig context's, else \"default\".")
        String namespace;

        String resolve(KubernetesClient client) {
            if (namespace != null) {
                return namespace;
            }
            String current = client.getNamespace();
            return current == null || current.isBlank() ? "default" : current;
        }
    }

    private ClusterAccess() {
    }

    /** The run, or null after saying on stderr that there is none. */
    static TrainingRun run(KubernetesClient client, String namespace, String name, PrintWriter err) {
        TrainingRun run = client.resources(TrainingRun.class).inNamespace(namespace).withName(name).get();
        if (run == null) {
            notFound(err, namespace, name);
        }
        return run;
    }

    static void notFound(PrintWriter err, String namespace, String name) {
        err.println("error: trainingrun \"" + name + "\" not found in namespace \"" + namespace + "\"");
        err.flush();
    }

    /**
     * Turns API failures into one line on stderr and exit code 1, for every command: the server's
     * own message when it sent one, and what to check when it could not be reached at all.
     */
    static CommandLine.IExecutionExceptionHandler failureHandler() {
        return (exception, commandLine, parseResult) -> {
            if (!(exception instanceof KubernetesClientException failure)) {
                throw exception;
            }
            commandLine.getErr().println("error: " + explain(failure));
            commandLine.getErr().flush();
            return ExitCodes.FAILURE;
        };
    }

    static String explain(KubernetesClientException e) {
        Throwable cause = unreachable(e);
        if (cause != null) {
            String server = io.quarkus.arc.Arc.container().instance(KubernetesClient.class).get().getMasterUrl().toString()
                    .replaceAll("/$", "");
            return "cannot reach the Kubernetes API server at " + server + " (" + cause.getClass().getSimpleName()
                    + (cause.getMessage() == null ? "" : ": " + cause.getMessage().lines().findFirst().orElse(""))
                    + "); check that the cluster is up and that the current kubeconfig context is the right one "
                    + "(kubectl config current-context)";
        }
        String message = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage()
                : e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse(e.toString());
        return switch (e.getCode()) {
            case 401 -> "the API server refused the credentials of the current kubeconfig context (401 Unauthorized): " + message;
            case 403 -> "forbidden: " + message;
            case 404 -> message.contains("trainingruns") || message.contains("404 page not found")
                    ? message + " (is the TrainingRun CRD installed? kubectl apply -f k8s/crds/)" : message;
            default -> message;
        };
    }

    private static Throwable unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof UnknownHostException || t instanceof NoRouteToHostException
                    || t instanceof SocketTimeoutException || t instanceof TimeoutException
                    || (t instanceof IOException && t.getMessage() != null && t.getMessage().contains("Connection refused"))) {
                return t;
            }
        }
        return null;
    }
}
