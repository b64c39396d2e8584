package dev.saeforge.api;

import dev.saeforge.operator.SpecLock;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crdv2.generator.CRDGenerator;
import io.fabric8.crdv2.generator.CRDPostProcessor;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/** Generates the TrainingRun CRD from the API classes with the fabric8 crd-generator. */
public final class Crds {
    /** Where the generated CRD is committed, for kubectl apply and the Helm chart. */
    public static final Path COMMITTED = Path.of("k8s/crds/trainingruns.saeforge.dev-v1.yml");
    /** The Helm chart's copy, which Helm installs before the templates. */
    public static final Path IN_CHART = Path.of("charts/saeforge/crds/trainingruns.saeforge.dev-v1.yml");

    private Crds() {
    }

    /** The CRD as the generator writes it, with printer columns in the order TrainingRun declares them. */
    public static String generate() throws IOException {
        Path dir = Files.createTempDirectory("crd");
        try {
            new CRDGenerator()
                    .customResourceClasses(TrainingRun.class)
                    .forCRDVersions("v1")
                    .inOutputDir(dir.toFile())
                    .withPostProcessor(new PostProcessing())
                    .generate();
            return Files.readString(dir.resolve("trainingruns.saeforge.dev-v1.yml"));
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Every change the generated CRD needs, in order. */
    static final class PostProcessing implements CRDPostProcessor {
        @Override
        public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
            return new FixedOnceStarted().process(new AnyJsonValue().process(new DeclaredColumnOrder().process(crd, crdSpecVersion),
                    crdSpecVersion), crdSpecVersion);
        }
    }

    /**
     * A field of a type bound from values of more than one JSON shape (spec.dataset.excludeSpecialTokens:
     * a boolean or a list) is marked {@code @PreserveUnknownFields}; the generator still writes the
     * one type it guesses, which would refuse the others. Such a field takes any JSON value, as
     * structural schemas allow with x-kubernetes-preserve-unknown-fields alone; the trainer's
     * validation checks its shape.
     */
    static final class AnyJsonValue implements CRDPostProcessor {
        @Override
        public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
            ((CustomResourceDefinition) crd).getSpec().getVersions().forEach(version -> clear(version.getSchema().getOpenAPIV3Schema()));
            return crd;
        }

        private static void clear(JSONSchemaProps schema) {
            if (Boolean.TRUE.equals(schema.getXKubernetesPreserveUnknownFields()) && schema.getProperties().isEmpty()) {
                schema.setType(null);
                schema.setItems(null);
            }
            schema.getProperties().values().forEach(AnyJsonValue::clear);
            if (schema.getItems() != null && schema.getItems().getSchema() != null) {
                clear(schema.getItems().getSchema());
            }
        }
    }

    /**
     * The rules that fix a started run's spec ({@link SpecLock}), at the schema's root, one per
     * field of the spec as the generator found them, so a field added to the API is covered too.
     */
    static final class FixedOnceStarted implements CRDPostProcessor {
        @Override
        public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
            ((CustomResourceDefinition) crd).getSpec().getVersions().forEach(version -> {
                JSONSchemaProps root = version.getSchema().getOpenAPIV3Schema();
                root.setXKubernetesValidations(SpecLock.crdRules(root.getProperties().get("spec").getProperties().keySet()));
            });
            return crd;
        }
    }

    /**
     * The generator sorts printer columns by JSON path, which would make kubectl show Age first;
     * kubectl shows them in list order, so put them back in the order of the annotations.
     */
    static final class DeclaredColumnOrder implements CRDPostProcessor {
        @Override
        public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
            List<String> declared = Arrays.stream(TrainingRun.class.getAnnotationsByType(AdditionalPrinterColumn.class))
                    .map(AdditionalPrinterColumn::name)
                    .toList();
            ((CustomResourceDefinition) crd).getSpec().getVersions().forEach(version ->
                    version.getAdditionalPrinterColumns().sort(
                            Comparator.comparingInt((CustomResourceColumnDefinition c) -> declared.indexOf(c.getName()))));
            return crd;
        }
    }
}
