package dev.saeforge.cli;

import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.inject.Inject;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * What the commands on runs in a cluster share: the client of the current kubeconfig context,
 * -n/--namespace with kubectl's default, and the command line's output streams.
 */
abstract class ClusterCommand implements Callable<Integer> {
    @Option(names = {"-n", "--namespace"}, paramLabel = "NAMESPACE",
            description = "Namespace of the runs; defaults to the current kubeconfig context's, else \"default\".")
    String namespaceOption;

    @Inject
    KubernetesClient client;

    @Spec
    CommandSpec command;

    PrintWriter out() {
        return command.commandLine().getOut();
    }

    PrintWriter err() {
        return command.commandLine().getErr();
    }

    /** -n, else the namespace of the current kubeconfig context, else "default", as kubectl does. */
    String namespace() {
        if (namespaceOption != null) {
            return namespaceOption;
        }
        String current = client.getNamespace();
        return current == null || current.isBlank() ? "default" : current;
    }

    /** The run, or null after saying on stderr that there is none. */
    TrainingRun run(String namespace, String name) {
        TrainingRun run = client.resources(TrainingRun.class).inNamespace(namespace).withName(name).get();
        if (run == null) {
            notFound(namespace, name);
        }
        return run;
    }

    void notFound(String namespace, String name) {
        err().println("error: trainingrun \"" + name + "\" not found in namespace \"" + namespace + "\"");
        err().flush();
    }

    /** One line on stderr and the exit code that goes with it. */
    int fail(int exitCode, String message) {
        err().println(message);
        err().flush();
        return exitCode;
    }
}
