package dev.saeforge.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import dev.saeforge.api.Mappers;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Kubernetes YAML (one or many documents) as fabric8's typed objects, the way kubectl would send them. */
final class Manifests {
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private Manifests() {
    }

    /** Every document, typed by its apiVersion and kind; a kind fabric8 does not know fails the test. */
    static List<HasMetadata> parse(String yaml, String source) throws IOException {
        List<HasMetadata> objects = new ArrayList<>();
        try (MappingIterator<JsonNode> documents = Mappers.yaml().readerFor(JsonNode.class).readValues(yaml)) {
            while (documents.hasNextValue()) {
                JsonNode document = documents.nextValue();
                if (document == null || document.isNull() || document.isMissingNode() || document.isEmpty()) {
                    continue;
                }
                HasMetadata object = SERIALIZATION.unmarshal(document.toString());
                if (object instanceof GenericKubernetesResource) {
                    throw new AssertionError(source + ": " + document.path("apiVersion").asText() + " " + document.path("kind").asText()
                            + " is not a Kubernetes type fabric8 knows");
                }
                objects.add(object);
            }
        }
        return objects;
    }

    @SuppressWarnings("unchecked")
    static <T extends HasMetadata> List<T> ofKind(List<HasMetadata> objects, Class<T> kind) {
        return objects.stream().filter(kind::isInstance).map(o -> (T) o).toList();
    }

    static <T extends HasMetadata> T named(List<HasMetadata> objects, Class<T> kind, String name) {
        return ofKind(objects, kind).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind.getSimpleName() + " " + name));
    }
}
