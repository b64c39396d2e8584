package dev.saeforge.operator;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** k8s/: what kubectl apply -f k8s/crds/ -f k8s/ installs. */
class DeploymentManifestsTest {
    static List<HasMetadata> objects;

    static Stream<Path> files() throws IOException {
        return Files.walk(Path.of("k8s")).filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted();
    }

    @BeforeAll
    static void parseAll() throws IOException {
        objects = new ArrayList<>();
        for (Path file : files().toList()) {
            objects.addAll(Manifests.parse(Files.readString(file), file.toString()));
        }
    }

    /** (apiGroup, resource, verb) triples a set of rules grants. */
    static Set<String> grants(List<PolicyRule> rules) {
        Set<String> grants = new TreeSet<>();
        for (PolicyRule rule : rules) {
            for (String group : rule.getApiGroups()) {
                for (String resource : rule.getResources()) {
                    for (String verb : rule.getVerbs()) {
                        grants.add((group.isEmpty() ? "core" : group) + " " + resource + " " + verb);
                    }
                }
            }
        }
        return grants;
    }

    @ParameterizedTest
    @MethodSource("files")
    void everyFileParsesIntoTypedObjectsWithoutUnknownFields(Path file) throws IOException {
        List<HasMetadata> parsed = Manifests.parse(Files.readString(file), file.toString());

        assertThat(parsed).as(file.toString()).isNotEmpty();
        for (HasMetadata object : parsed) {
            assertThat(ManifestChecks.unknownFields(object)).as(file + " " + object.getKind()).isEmpty();
        }
    }

    @Test
    void aMisspelledFieldIsFound() throws IOException {
        String yaml = Files.readString(Path.of("k8s/50-operator.yaml")).replace("imagePullPolicy:", "imagePullPolicyy:");

        assertThat(ManifestChecks.unknownFields(Manifests.parse(yaml, "misspelled").get(0)))
                .containsExactly("Deployment/saeforge-operator.spec.template.spec.containers[0].imagePullPolicyy");
    }

    @Test
    void theyInstallTheCrdANamespaceTheOperatorAndItsIdentities() {
        assertThat(Manifests.named(objects, CustomResourceDefinition.class, "trainingruns.saeforge.dev")).isNotNull();
        assertThat(Manifests.named(objects, Namespace.class, "saeforge").getMetadata().getLabels())
                .containsEntry("pod-security.kubernetes.io/enforce", "restricted");
        assertThat(Manifests.ofKind(objects, ServiceAccount.class)).extracting(o -> o.getMetadata().getName())
                .as("each run's trainer gets a service account of its own from the operator").containsExactly("saeforge-operator");
        assertThat(objects).filteredOn(o -> !(o instanceof Namespace || o instanceof CustomResourceDefinition || o instanceof ClusterRole))
                .allSatisfy(o -> assertThat(o.getMetadata().getNamespace()).as(o.getKind() + " " + o.getMetadata().getName()).isEqualTo("saeforge"));
    }

    @Test
    void theOperatorMayDoWhatItDoesAndNothingMore() {
        Role role = Manifests.named(objects, Role.class, "saeforge-operator");

        assertThat(grants(role.getRules())).containsExactlyInAnyOrder(
                "saeforge.dev trainingruns get", "saeforge.dev trainingruns list", "saeforge.dev trainingruns watch",
                "saeforge.dev trainingruns/status patch", "saeforge.dev trainingruns/finalizers update",
                "batch jobs get", "batch jobs list", "batch jobs watch", "batch jobs create", "batch jobs delete", "batch jobs patch",
                "core pods get", "core pods list", "core pods watch",
                "core events create", "core serviceaccounts get", "core serviceaccounts create",
                "rbac.authorization.k8s.io roles get", "rbac.authorization.k8s.io roles create",
                "rbac.authorization.k8s.io rolebindings get", "rbac.authorization.k8s.io rolebindings create",
                "coordination.k8s.io leases get", "coordination.k8s.io leases create", "coordination.k8s.io leases update");
        RoleBinding binding = Manifests.named(objects, RoleBinding.class, "saeforge-operator");
        assertThat(binding.getRoleRef().getName()).isEqualTo("saeforge-operator");
        assertThat(binding.getSubjects()).extracting("kind", "name").containsExactly(org.assertj.core.groups.Tuple.tuple("ServiceAccount", "saeforge-operator"));
    }

    @Test
    void noRoleLetsATrainerWriteEveryRunsStatus() {
        // The operator grants each run's trainer its own run only (TrainerAccess); no manifest grants more.
        assertThat(Manifests.ofKind(objects, Role.class)).extracting(o -> o.getMetadata().getName()).containsExactly("saeforge-operator");
        assertThat(Manifests.ofKind(objects, RoleBinding.class)).flatExtracting(RoleBinding::getSubjects).extracting("name")
                .containsOnly("saeforge-operator");
    }

    @Test
    void theOperatorCanGrantEveryPermissionOfATrainersRole() throws Exception {
        // RBAC lets the operator create a Role only with permissions it holds itself.
        Role trainer = TrainerAccess.role(Fixtures.storedSeedRun());
        Role operator = Manifests.named(objects, Role.class, "saeforge-operator");

        assertThat(grants(operator.getRules())).containsAll(grants(trainer.getRules()));
    }

    @Test
    void researchersGetTrainingRunsThroughTheBuiltInRoles() {
        assertThat(Manifests.named(objects, ClusterRole.class, "saeforge-edit").getMetadata().getLabels())
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-edit", "true");
        assertThat(Manifests.named(objects, ClusterRole.class, "saeforge-view").getMetadata().getLabels())
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-view", "true");
    }

    @Test
    void theOperatorDeploymentRunsTheOperatorWithItsConfigurationAndProbes() throws IOException {
        Deployment deployment = Manifests.named(objects, Deployment.class, "saeforge-operator");
        var pod = deployment.getSpec().getTemplate().getSpec();
        var container = pod.getContainers().get(0);
        OperatorConfig config = OperatorConfig.parse(Manifests.named(objects, ConfigMap.class, "saeforge-operator").getData().get("operator.yaml"),
                "k8s/40-operator-config.yaml");

        assertThat(pod.getServiceAccountName()).isEqualTo("saeforge-operator");
        assertThat(container.getArgs()).containsExactly("operator", "--config", "/etc/saeforge/operator.yaml", "--health-port", "8081");
        assertThat(container.getVolumeMounts()).extracting("name", "mountPath").contains(org.assertj.core.groups.Tuple.tuple("config", "/etc/saeforge"));
        assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals("config")).singleElement()
                .satisfies(v -> assertThat(v.getConfigMap().getName()).isEqualTo("saeforge-operator"));
        assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
        assertThat(container.getResources().getRequests()).containsKeys("cpu", "memory");
        assertThat(container.getResources().getLimits()).containsKey("memory");
        assertThat(config.image).isEqualTo(container.getImage());
        assertThat(config.namespaces).containsExactly("saeforge");
        assertThat(config.s3.credentialsSecret).isEqualTo("saeforge-s3");
    }

    @Test
    void everyPodIsLockedDownAndNoSecretValueIsWrittenAnywhere() {
        for (HasMetadata object : objects) {
            PodTemplateSpec template = ManifestChecks.podTemplate(object);
            if (template != null) {
                assertThat(ManifestChecks.insecure(object.getMetadata().getName(), template.getSpec())).isEmpty();
                assertThat(ManifestChecks.secretValues(object.getMetadata().getName(), template.getSpec())).isEmpty();
            }
        }
        assertThat(Manifests.ofKind(objects, Secret.class)).as("credentials are created by the cluster admin, not shipped").isEmpty();
    }
}
