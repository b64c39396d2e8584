package dev.saeforge.cli;

import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import jakarta.inject.Inject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** Sets spec.cancel: the operator deletes the run's Job and marks it Cancelled; the run and its status stay. */
@Command(name = "cancel", description = {"Stop a run for good: the operator deletes its Job and sets the phase to Cancelled.",
        "The run, its status and its checkpoints stay; use delete to remove the run."})
public class CancelCommand implements Callable<Integer> {
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
        TrainingRun run = ClusterAccess.run(client, ns, name, err);
        if (run == null) {
            return ExitCodes.FAILURE;
        }
        if (run.getStatus() != null && run.getStatus().phase != null && run.getStatus().phase.isFinal()) {
            out.println("trainingrun.saeforge.dev/" + name + " already " + run.getStatus().phase + "; nothing to cancel");
            out.flush();
            return ExitCodes.OK;
        }
        client.resources(TrainingRun.class).inNamespace(ns).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"cancel\":true}}");
        out.println("trainingrun.saeforge.dev/" + name + " cancel requested; the operator stops its Job");
        out.flush();
        return ExitCodes.OK;
    }
}
