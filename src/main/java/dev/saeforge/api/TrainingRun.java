package dev.saeforge.api;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

import static io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type.DATE;
import static io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type.NUMBER;
import static io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.Type.STRING;

/**
 * One SAE training job, complete: the same document is applied with kubectl, submitted with
 * {@code saeforge submit} and run in-process with {@code saeforge train}.
 */
@Group(TrainingRun.GROUP)
@Version(TrainingRun.VERSION)
@Kind(TrainingRun.KIND)
@Plural("trainingruns")
@Singular("trainingrun")
@ShortNames("tr")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = STRING)
@AdditionalPrinterColumn(name = "Progress", jsonPath = ".status.progress", type = STRING)
@AdditionalPrinterColumn(name = "Tokens/s", jsonPath = ".status.tokensPerSecond", type = NUMBER)
@AdditionalPrinterColumn(name = "L0", jsonPath = ".status.l0", type = NUMBER)
@AdditionalPrinterColumn(name = "Expl.Var", jsonPath = ".status.explainedVariance", type = NUMBER)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = DATE)
public class TrainingRun extends CustomResource<TrainingRunSpec, TrainingRunStatus> implements Namespaced {
    public static final String GROUP = "saeforge.dev";
    public static final String VERSION = "v1alpha1";
    public static final String KIND = "TrainingRun";
    public static final String API_VERSION = GROUP + "/" + VERSION;
    /** W3C trace context of the submission; the trainer's spans continue that trace. */
    public static final String TRACEPARENT_ANNOTATION = GROUP + "/traceparent";
}
