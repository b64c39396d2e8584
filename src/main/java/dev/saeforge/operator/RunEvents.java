package dev.saeforge.operator;

import dev.saeforge.api.TrainingRun;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Records Kubernetes Events on a TrainingRun, as {@code kubectl describe} shows them. An Event
 * that cannot be written is logged and dropped: the conditions carry the same facts.
 */
public final class RunEvents {
    public static final String COMPONENT = "saeforge-operator";
    private static final Logger LOG = Logger.getLogger(RunEvents.class);
    private static final int MAX_MESSAGE = 1024;

    private final KubernetesClient client;
    private final String instance;
    private final Clock clock;
    private final AtomicLong sequence = new AtomicLong();

    public RunEvents(KubernetesClient client, String instance, Clock clock) {
        this.client = client;
        this.instance = instance;
        this.clock = clock;
    }

    public void record(TrainingRun run, Reconciliation.RunEvent event) {
        Instant now = clock.instant();
        String timestamp = now.toString();
        String message = event.message().length() > MAX_MESSAGE ? event.message().substring(0, MAX_MESSAGE - 3) + "..." : event.message();
        Event created = new EventBuilder()
                .withNewMetadata()
                // Unique per run and moment, like client-go's <name>.<unix nanos in hex>.
                .withName(run.getMetadata().getName() + "." + Long.toHexString(now.getEpochSecond() * 1_000_000_000L + now.getNano())
                        + Long.toHexString(sequence.incrementAndGet()))
                .withNamespace(run.getMetadata().getNamespace())
                .endMetadata()
                .withNewInvolvedObject()
                .withApiVersion(TrainingRun.API_VERSION)
                .withKind(TrainingRun.KIND)
                .withNamespace(run.getMetadata().getNamespace())
                .withName(run.getMetadata().getName())
                .withUid(run.getMetadata().getUid())
                .withResourceVersion(run.getMetadata().getResourceVersion())
                .endInvolvedObject()
                .withType(event.type())
                .withReason(event.reason())
                .withMessage(message)
                .withNewSource().withComponent(COMPONENT).endSource()
                .withReportingComponent(COMPONENT)
                .withReportingInstance(instance)
                .withFirstTimestamp(timestamp)
                .withLastTimestamp(timestamp)
                .withCount(1)
                .build();
        try {
            client.v1().events().inNamespace(run.getMetadata().getNamespace()).resource(created).create();
        } catch (KubernetesClientException e) {
            LOG.warnf("could not record event %s on TrainingRun %s: %s", event.reason(), TrainingJobs.runReference(run), e.getMessage());
        }
    }
}
