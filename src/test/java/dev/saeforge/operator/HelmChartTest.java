package dev.saeforge.operator;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import dev.saeforge.api.Crds;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

/** charts/saeforge, linted and rendered by Helm itself (helm-java), and read back as typed Kubernetes objects. */
class HelmChartTest {
    static final Path CHART = Path.of("charts/saeforge");
    static final Path CUSTOM = Path.of("src/test/resources/helm/custom-values.yaml");

    static List<HasMetadata> render(Helm helm) throws IOException {
        return render(helm.template().withName("saeforge").withNamespace("ml-platform"));
    }

    static List<HasMetadata> render(com.marcnuri.helm.TemplateCommand command) throws IOException {
        return Manifests.parse(command.call(), "helm template");
    }

    static OperatorConfig config(List<HasMetadata> objects) throws IOException {
        return OperatorConfig.parse(Manifests.named(objects, ConfigMap.class, "saeforge-operator").getData().get("operator.yaml"), "ConfigMap");
    }

    static void assertWellFormedAndLockedDown(List<HasMetadata> objects) {
        assertThat(objects).isNotEmpty();
        for (HasMetadata object : objects) {
            assertThat(ManifestChecks.unknownFields(object)).as(object.getKind() + " " + object.getMetadata().getName()).isEmpty();
            PodTemplateSpec template = ManifestChecks.podTemplate(object);
            if (template != null) {
                assertThat(ManifestChecks.insecure(object.getMetadata().getName(), template.getSpec())).isEmpty();
                assertThat(ManifestChecks.secretValues(object.getMetadata().getName(), template.getSpec())).isEmpty();
            }
        }
        assertThat(Manifests.ofKind(objects, Secret.class)).as("the chart holds Secret names, never Secrets").isEmpty();
    }

    @Test
    void theGrafanaDashboardShipsForTheSidecarWithEveryPanelOnExportedMetricsAndATraceLink() throws Exception {
        ConfigMap dashboards = Manifests.named(render(new Helm(CHART)), ConfigMap.class, "saeforge-dashboards");
        assertThat(dashboards.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
        com.fasterxml.jackson.databind.JsonNode dashboard = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(dashboards.getData().get("saeforge-training.json"));

        List<String> titles = new java.util.ArrayList<>();
        dashboard.path("panels").forEach(panel -> titles.add(panel.path("title").asText()));
        assertThat(titles).contains("Throughput", "Losses", "L0", "Explained variance", "Dead features",
                "Checkpoint time", "Checkpoint bytes");
        // Every series is one the trainer exports, as Prometheus names OTel instruments (dots to underscores, unit suffixes).
        List<String> exported = List.of("saeforge_train_throughput", "saeforge_train_tokens_total", "saeforge_train_loss",
                "saeforge_train_l0", "saeforge_train_explained_variance", "saeforge_train_dead_features",
                "saeforge_train_learning_rate", "saeforge_sae_step_duration_seconds_bucket",
                "saeforge_checkpoint_duration_seconds_bucket", "saeforge_checkpoint_size_bytes_total");
        // The SAEs a run trains from one stream are told apart: their series are split and named by saeforge_sae.
        List<String> perSae = List.of("saeforge_train_loss", "saeforge_train_l0", "saeforge_train_explained_variance",
                "saeforge_train_dead_features", "saeforge_train_learning_rate", "saeforge_sae_step_duration_seconds_bucket");
        dashboard.path("panels").forEach(panel -> panel.path("targets").forEach(target -> {
            java.util.regex.Matcher metric = java.util.regex.Pattern.compile("saeforge_[a-z0-9_]+(?=\\{)").matcher(target.path("expr").asText());
            assertThat(metric.find()).isTrue();
            assertThat(exported).as(panel.path("title").asText()).contains(metric.group());
            if (perSae.contains(metric.group())) {
                assertThat(target.path("legendFormat").asText()).as(panel.path("title").asText()).contains("{{saeforge_sae}}");
                assertThat(target.path("expr").asText()).as(panel.path("title").asText()).doesNotContainPattern("by \\([^)]*\\)(?<!saeforge_sae\\))");
            }
        }));
        assertThat(dashboard.path("links").get(0).path("url").asText()).contains("saeforge%20train");

        assertThat(render(new Helm(CHART).template().withName("saeforge").withNamespace("ml-platform").set("dashboards.enabled", "false")))
                .extracting(o -> o.getMetadata().getName()).doesNotContain("saeforge-dashboards");
    }

    @Test
    void lintStrictPasses() {
        LintResult lint = new Helm(CHART).lint().strict().call();

        assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
    }

    @Test
    void defaultValuesRenderTheOperatorForTheReleaseNamespace() throws IOException {
        List<HasMetadata> objects = render(new Helm(CHART));

        assertThat(objects).extracting(HasMetadata::getKind, o -> o.getMetadata().getName(), o -> o.getMetadata().getNamespace())
                .containsExactlyInAnyOrder(
                        tuple("ServiceAccount", "saeforge-operator", "ml-platform"),
                        tuple("ConfigMap", "saeforge-operator", "ml-platform"),
                        tuple("ConfigMap", "saeforge-dashboards", "ml-platform"),
                        tuple("Deployment", "saeforge-operator", "ml-platform"),
                        tuple("Role", "saeforge-operator", "ml-platform"),
                        tuple("RoleBinding", "saeforge-operator", "ml-platform"),
                        tuple("Role", "saeforge-operator-lease", "ml-platform"),
                        tuple("RoleBinding", "saeforge-operator-lease", "ml-platform"),
                        tuple("ClusterRole", "saeforge-edit", null),
                        tuple("ClusterRole", "saeforge-view", null));
        Deployment deployment = Manifests.named(objects, Deployment.class, "saeforge-operator");
        OperatorConfig config = config(objects);
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
        assertThat(deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                .as("the default tag is the chart's appVersion").isEqualTo("ghcr.io/saeforge/saeforge:0.1.0");
        assertThat(config.image).isEqualTo("ghcr.io/saeforge/saeforge:0.1.0");
        assertThat(config.namespaces).containsExactly("ml-platform");
        assertThat(config.lease.namespace).isEqualTo("ml-platform");
        assertThat(config.s3.credentialsSecret).isNull();
        assertThat(config.gpuTolerations).extracting("key").containsExactly("nvidia.com/gpu");
        assertWellFormedAndLockedDown(objects);
    }

    @Test
    void customValuesRenderTeamNamespacesStorageTelemetryAndImage() throws Exception {
        List<HasMetadata> objects = render(new Helm(CHART).template().withName("ml").withNamespace("ml-platform").withValuesFile(CUSTOM));
        Deployment deployment = Manifests.named(objects, Deployment.class, "ml-saeforge-operator");
        var container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        OperatorConfig config = OperatorConfig.parse(Manifests.named(objects, ConfigMap.class, "ml-saeforge-operator").getData().get("operator.yaml"), "ConfigMap");

        assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
        assertThat(container.getImage()).isEqualTo("registry.example/ml/saeforge:9.9.9");
        assertThat(container.getArgs()).containsExactly("operator", "--config", "/etc/saeforge/operator.yaml", "--health-port", "9090");
        assertThat(container.getLivenessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("health");
        assertThat(container.getPorts()).extracting("containerPort").containsExactly(9090);
        assertThat(deployment.getSpec().getTemplate().getSpec().getImagePullSecrets()).extracting("name").containsExactly("registry-credentials");
        assertThat(deployment.getSpec().getTemplate().getMetadata().getAnnotations()).containsKey("checksum/config");
        assertThat(config.image).isEqualTo("registry.example/ml/saeforge:9.9.9");
        assertThat(config.imagePullPolicy).isEqualTo("Always");
        assertThat(config.namespaces).containsExactly("team-a", "team-b");
        assertThat(config.s3.endpoint).isEqualTo("http://minio.minio:9000");
        assertThat(config.s3.credentialsSecret).isEqualTo("team-s3");
        assertThat(config.huggingFaceTokenSecret).isEqualTo("hf-token");
        assertThat(config.otlpEndpoint).isEqualTo("http://otel-collector.observability:4317");
        assertThat(config.priorityClassName).isEqualTo("gpu-batch");
        assertThat(config.runAsUser).isEqualTo(2000);
        assertThat(config.terminationGracePeriodSeconds).isEqualTo(600);
        assertThat(config.gpuTolerations).extracting("key").containsExactly("nvidia.com/gpu", "dedicated");
        assertThat(config.lease.name).isEqualTo("sae-leader");
        assertThat(Manifests.ofKind(objects, Role.class)).extracting(o -> o.getMetadata().getName(), o -> o.getMetadata().getNamespace())
                .containsExactlyInAnyOrder(tuple("ml-saeforge-operator", "team-a"), tuple("ml-saeforge-operator", "team-b"),
                        tuple("ml-saeforge-operator-lease", "ml-platform"));
        assertThat(Manifests.ofKind(objects, RoleBinding.class)).filteredOn(b -> b.getMetadata().getName().equals("ml-saeforge-operator"))
                .allSatisfy(b -> assertThat(b.getSubjects()).extracting("name", "namespace").containsExactly(tuple("ml-saeforge-operator", "ml-platform")));
        assertThat(Manifests.ofKind(objects, ServiceAccount.class)).extracting(o -> o.getMetadata().getName(), o -> o.getMetadata().getNamespace())
                .containsExactly(tuple("ml-saeforge-operator", "ml-platform"));
        assertWellFormedAndLockedDown(objects);

        // The Job the operator builds from this configuration references the Secrets, never their values.
        var job = TrainingJobs.desired(Fixtures.storedSeedRun(), 1, config);
        assertThat(ManifestChecks.secretValues("Job", job.getSpec().getTemplate().getSpec())).isEmpty();
        assertThat(job.getSpec().getTemplate().getSpec().getPriorityClassName()).isEqualTo("gpu-batch");
    }

    @Test
    void allNamespacesUsesAClusterRoleAndWatchesEverything() throws Exception {
        List<HasMetadata> objects = render(new Helm(CHART).template().withName("saeforge").withNamespace("ml-platform")
                .set("allNamespaces", "true"));

        assertThat(config(objects).namespaces).isEmpty();
        assertThat(Manifests.named(objects, ClusterRole.class, "saeforge-operator").getRules()).isNotEmpty();
        assertThat(Manifests.named(objects, ClusterRoleBinding.class, "saeforge-operator").getSubjects()).extracting("namespace")
                .containsExactly("ml-platform");
        assertThat(Manifests.ofKind(objects, Role.class)).extracting(o -> o.getMetadata().getName())
                .containsExactly("saeforge-operator-lease");
        assertWellFormedAndLockedDown(objects);
    }

    @Test
    void theSchemaRefusesValuesThatWouldBreakTheOperator() {
        assertThatThrownBy(() -> new Helm(CHART).template().withName("saeforge").set("replicaCount", "0").call())
                .hasMessageContaining("replicaCount");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("saeforge").set("watchNamespaces[0]", "Team_A").call())
                .hasMessageContaining("watchNamespaces");
        assertThatThrownBy(() -> new Helm(CHART).template().withName("saeforge").set("s3.accessKey", "AKIA...").call())
                .as("credentials have no place in the values").hasMessageContaining("accessKey");
    }

    @Test
    void theChartsCrdIsTheGeneratedOne() throws Exception {
        String generated = Crds.generate();

        assertThat(Files.readString(CHART.resolve("crds/trainingruns.saeforge.dev-v1.yml"))).isEqualTo(generated);
        assertThat(Files.readString(Crds.COMMITTED)).isEqualTo(generated);
        try (var files = Files.list(CHART.resolve("crds"))) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("trainingruns.saeforge.dev-v1.yml");
        }
    }
}
