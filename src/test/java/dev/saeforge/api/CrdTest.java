package dev.saeforge.api;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CRD in k8s/crds/ is exactly what the fabric8 generator makes of the API classes.
 * After changing the API: ./mvnw test -Dtest=CrdTest -Dsaeforge.updateCrd=true (updates k8s/crds/ and the chart's crds/)
 */
class CrdTest {
    static String generated;
    static CustomResourceDefinition crd;

    @BeforeAll
    static void generate() throws Exception {
        generated = Crds.generate();
        if (Boolean.getBoolean("saeforge.updateCrd")) {
            for (java.nio.file.Path copy : java.util.List.of(Crds.COMMITTED, Crds.IN_CHART)) {
                Files.createDirectories(copy.getParent());
                Files.writeString(copy, generated);
            }
        }
        crd = Serialization.unmarshal(generated, CustomResourceDefinition.class);
    }

    @Test
    void committedCrdEqualsTheGeneratedOne() throws Exception {
        assertThat(Files.readString(Crds.COMMITTED))
                .as("k8s/crds/ is stale; regenerate it with ./mvnw test -Dtest=CrdTest -Dsaeforge.updateCrd=true")
                .isEqualTo(generated);
    }

    @Test
    void namesTheResourceAsDesigned() {
        assertThat(crd.getMetadata().getName()).isEqualTo("trainingruns.saeforge.dev");
        assertThat(crd.getSpec().getGroup()).isEqualTo("saeforge.dev");
        assertThat(crd.getSpec().getScope()).isEqualTo("Namespaced");
        assertThat(crd.getSpec().getNames().getKind()).isEqualTo("TrainingRun");
        assertThat(crd.getSpec().getNames().getShortNames()).containsExactly("tr");
        assertThat(version().getName()).isEqualTo("v1alpha1");
        assertThat(version().getSubresources().getStatus()).as("status subresource").isNotNull();
    }

    @Test
    void printerColumnsAreThoseKubectlGetShowsInOrder() {
        assertThat(version().getAdditionalPrinterColumns())
                .extracting(CustomResourceColumnDefinition::getName, CustomResourceColumnDefinition::getJsonPath)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("Phase", ".status.phase"),
                        org.assertj.core.groups.Tuple.tuple("Progress", ".status.progress"),
                        org.assertj.core.groups.Tuple.tuple("Tokens/s", ".status.tokensPerSecond"),
                        org.assertj.core.groups.Tuple.tuple("L0", ".status.l0"),
                        org.assertj.core.groups.Tuple.tuple("Expl.Var", ".status.explainedVariance"),
                        org.assertj.core.groups.Tuple.tuple("Age", ".metadata.creationTimestamp"));
    }

    @Test
    void schemaCarriesTheValidationTheApiClassesDeclare() {
        JSONSchemaProps spec = version().getSchema().getOpenAPIV3Schema().getProperties().get("spec");
        // sae or saes: the schema cannot say "one of", so validation does (TrainingRunsTest).
        assertThat(spec.getRequired()).doesNotContain("sae");
        JSONSchemaProps entry = spec.getProperties().get("saes").getItems().getSchema();
        assertThat(entry.getRequired()).containsExactlyInAnyOrder("name", "sae");
        assertThat(entry.getProperties().get("name").getPattern()).isEqualTo(dev.saeforge.api.SaeEntrySpec.NAME_PATTERN);
        JSONSchemaProps sae = spec.getProperties().get("sae");
        assertThat(sae.getProperties().get("dSae").getMinimum()).isEqualTo(1.0);
        assertThat(sae.getProperties().get("bandwidth").getExclusiveMinimum()).isTrue();
        assertThat(sae.getProperties().get("sparsityLossMode").getEnum()).extracting(Object::toString)
                .containsExactly("\"step\"", "\"tanh\"");
        assertThat(spec.getProperties().get("hook").getPattern()).isEqualTo(TrainingRunSpec.HOOK_PATTERN);
        JSONSchemaProps training = spec.getProperties().get("training");
        assertThat(training.getProperties().get("lr").getDescription()).isEqualTo("Adam learning rate (SAELens lr).");
        assertThat(spec.getProperties().get("resources").getProperties().get("memory").getXKubernetesIntOrString()).isTrue();
    }

    @Test
    void everyFieldHasADescription() {
        assertDescribed("spec", version().getSchema().getOpenAPIV3Schema().getProperties().get("spec"));
        assertDescribed("status", version().getSchema().getOpenAPIV3Schema().getProperties().get("status"));
    }

    private static void assertDescribed(String path, JSONSchemaProps schema) {
        if (schema.getProperties() == null) {
            return;
        }
        schema.getProperties().forEach((name, child) -> {
            if (!path.startsWith("status.conditions")) {
                assertThat(child.getDescription()).as(path + "." + name + " description").isNotBlank();
            }
            assertDescribed(path + "." + name, child.getItems() != null && child.getItems().getSchema() != null
                    ? child.getItems().getSchema() : child);
        });
    }

    private static CustomResourceDefinitionVersion version() {
        return crd.getSpec().getVersions().get(0);
    }
}
