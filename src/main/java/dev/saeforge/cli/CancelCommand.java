package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Sets spec.cancel, a field rather than an annotation: it is declared and validated in the CRD,
 * kubectl apply and GitOps can set it too, and metadata.generation moves, so status.observedGeneration
 * tells whether the operator has seen it. The operator deletes the run's Job and marks it Cancelled.
 */
@Command(name = "cancel", description = {"Stop a run for good: the operator deletes its Job and sets the phase to Cancelled.",
        "The run, its status and its checkpoints stay; use delete to remove the run."})
public class CancelCommand extends ClusterCommand {
    @Parameters(paramLabel = "NAME", description = "The run.")
    String name;

    @Override
    public Integer call() {
        String ns = namespace();
        TrainingRun run = run(ns, name);
        if (run == null) {
            return ExitCodes.FAILURE;
        }
        if (run.getStatus() != null && run.getStatus().phase != null && run.getStatus().phase.isFinal()) {
            out().println("trainingrun.saeforge.dev/" + name + " already " + run.getStatus().phase + "; nothing to cancel");
        } else {
            client.resources(TrainingRun.class).inNamespace(ns).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
                    "{\"spec\":{\"cancel\":true}}");
            out().println("trainingrun.saeforge.dev/" + name + " cancel requested; the operator stops its Job");
        }
        out().flush();
        return ExitCodes.OK;
    }
}
