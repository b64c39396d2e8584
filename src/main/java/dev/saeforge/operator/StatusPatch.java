package dev.saeforge.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

import java.net.HttpURLConnection;
import java.util.List;

/**
 * A write of some fields of a run's status, as an RFC 6902 JSON patch on the status subresource:
 * each changed field is set or removed by name, so the operator and the trainer, each writing
 * only its own fields, never overwrite each other. (A JSON merge patch would say the same on a
 * real API server, but fabric8's mock server appends to lists in merge patches instead of
 * replacing them, and the tests run against it.)
 *
 * <p>Every write is conditional on the run being unchanged since it was read: the patch sets
 * metadata.resourceVersion to the one read, and the API server refuses it with 409 Conflict when
 * the stored one is newer. A writer that decided on an old read (a stalled former leader, a
 * trainer racing the operator) then reads again and decides again, never regressing what another
 * wrote meanwhile.
 */
final class StatusPatch {
    private StatusPatch() {
    }

    /** The named fields of a status, absent ones as null. */
    static ObjectNode fields(TrainingRunStatus status, List<String> names) {
        JsonNode all = Mappers.json().valueToTree(status == null ? new TrainingRunStatus() : status);
        ObjectNode fields = Mappers.json().createObjectNode();
        for (String name : names) {
            fields.set(name, all.has(name) ? all.get(name) : NullNode.getInstance());
        }
        return fields;
    }

    /**
     * Writes the fields of {@code after} that differ from {@code before}, which is what {@code run}
     * (as read) holds; does nothing when none differ. Throws {@link KubernetesClientException}
     * with code 409 ({@link #isConflict}) when the run changed since it was read.
     *
     * @return the run as written, or {@code run} itself when there was nothing to write
     */
    static TrainingRun write(KubernetesClient client, TrainingRun run, ObjectNode before, ObjectNode after) {
        ArrayNode operations = Mappers.json().createArrayNode();
        after.properties().forEach(field -> {
            JsonNode was = before.get(field.getKey());
            JsonNode now = field.getValue();
            String path = "/status/" + field.getKey();
            if (now.isNull() && was != null && !was.isNull()) {
                operations.addObject().put("op", "remove").put("path", path);
            } else if (!now.isNull() && !now.equals(was)) {
                operations.addObject().put("op", "add").put("path", path).set("value", now);
            }
        });
        if (operations.isEmpty()) {
            return run;
        }
        if (run.getStatus() == null) {
            operations.insertObject(0).put("op", "add").put("path", "/status").set("value", Mappers.json().createObjectNode());
        }
        // A patched object carrying an older resourceVersion than the stored one is a conflict (409),
        // as an update with one is; a "test" operation would fail with 422 instead, which says nothing.
        operations.insertObject(0).put("op", "replace").put("path", "/metadata/resourceVersion")
                .put("value", run.getMetadata().getResourceVersion());
        return client.resources(TrainingRun.class).inNamespace(run.getMetadata().getNamespace()).withName(run.getMetadata().getName())
                .subresource("status").patch(PatchContext.of(PatchType.JSON), operations.toString());
    }

    /** Whether a write was refused because the run changed since it was read. */
    static boolean isConflict(KubernetesClientException e) {
        return e.getCode() == HttpURLConnection.HTTP_CONFLICT;
    }

    /** The run as stored now, or null when it is gone: what a writer that met a conflict decides on again. */
    static TrainingRun reread(KubernetesClient client, TrainingRun run) {
        return client.resources(TrainingRun.class).inNamespace(run.getMetadata().getNamespace()).withName(run.getMetadata().getName()).get();
    }
}
