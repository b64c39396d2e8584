package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Deletes a run; Kubernetes deletes its Jobs and pods with it (owner references). Checkpoints stay in their store. */
@Command(name = "delete", description = {"Delete a run; its Jobs and pods go with it. Checkpoints already written stay where they are."})
public class DeleteCommand extends ClusterCommand {
    @Parameters(paramLabel = "NAME", description = "The run.")
    String name;

    @Override
    public Integer call() {
        String ns = namespace();
        if (client.resources(TrainingRun.class).inNamespace(ns).withName(name).delete().isEmpty()) {
            notFound(ns, name);
            return ExitCodes.FAILURE;
        }
        out().println("trainingrun.saeforge.dev \"" + name + "\" deleted");
        out().flush();
        return ExitCodes.OK;
    }
}
