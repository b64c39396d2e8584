package dev.saeforge.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

import java.util.List;

/**
 * A write of some fields of a run's status, as an RFC 6902 JSON patch on the status subresource:
 * each changed field is set or removed by name, so the operator and the trainer, each writing
 * only its own fields, never overwrite each other. (A JSON merge patch would say the same on a
 * real API server, but fabric8's mock server appends to lists in merge patches instead of
 * replacing them, and the tests run against it.)
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
     * (as read) holds; does nothing when none differ. A run read without any status gets one, on
     * condition that nobody wrote one since it was read.
     */
    static void write(KubernetesClient client, TrainingRun run, ObjectNode before, ObjectNode after) {
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
            return;
        }
        if (run.getStatus() == null) {
            operations.insertObject(0).put("op", "add").put("path", "/status").set("value", Mappers.json().createObjectNode());
            operations.insertObject(0).put("op", "test").put("path", "/metadata/resourceVersion")
                    .put("value", run.getMetadata().getResourceVersion());
        }
        client.resources(TrainingRun.class).inNamespace(run.getMetadata().getNamespace()).withName(run.getMetadata().getName())
                .subresource("status").patch(PatchContext.of(PatchType.JSON), operations.toString());
    }
}
