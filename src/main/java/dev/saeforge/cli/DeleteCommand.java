package dev.saeforge.cli;

import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.api.model.StatusDetails;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.inject.Inject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** Deletes a run; Kubernetes deletes its Jobs and pods with it (owner references). Checkpoints stay in their store. */
@Command(name = "delete", description = {"Delete a run; its Jobs and pods go with it. Checkpoints already written stay where they are."})
public class DeleteCommand implements Callable<Integer> {
    @Parameters(paramLabel = "NAME", description = "The run.")
    String name;

    @Mixin
    ClusterAccess.NamespaceOption namespace;

    @Inject
    KubernetesClient client;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        String ns = namespace.resolve(client);
        List<StatusDetails> deleted = client.resources(TrainingRun.class).inNamespace(ns).withName(name).delete();
        if (deleted.isEmpty()) {
            ClusterAccess.notFound(err, ns, name);
            return ExitCodes.FAILURE;
        }
        out.println("trainingrun.saeforge.dev \"" + name + "\" deleted");
        out.flush();
        return ExitCodes.OK;
    }
}
