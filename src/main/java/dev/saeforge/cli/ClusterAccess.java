package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import picocli.CommandLine;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.concurrent.TimeoutException;

/** API failures in one line: what the server said, or what to check when it could not be reached. */
final class ClusterAccess {
    private ClusterAccess() {
    }

    /**
     * Turns API failures into one line on stderr and exit code 1, for every command: the server's
     * own message when it sent one, and what to check when it could not be reached at all. Any
     * other failure is reported by {@link FailureMessages}.
     */
    static CommandLine.IExecutionExceptionHandler failureHandler() {
        return (exception, commandLine, parseResult) -> {
            if (!(exception instanceof KubernetesClientException failure)) {
                return FailureMessages.report(commandLine.getErr(), exception);
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
            return "cannot reach the Kubernetes API server at " + server + " (" + reason(cause) + "); check that the cluster is up and that the current kubeconfig context is the right one "
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

    /** Why a connection failed, in words: "connection refused", "timed out", "unknown host x". */
    private static String reason(Throwable cause) {
        String message = cause.getMessage() == null ? "" : cause.getMessage().lines().findFirst().orElse("");
        if (cause instanceof UnknownHostException) {
            return "unknown host " + message;
        }
        if (cause instanceof SocketTimeoutException || cause instanceof TimeoutException) {
            return "timed out" + (message.isEmpty() ? "" : ": " + message);
        }
        return message.isEmpty() ? "connection failed" : message;
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
