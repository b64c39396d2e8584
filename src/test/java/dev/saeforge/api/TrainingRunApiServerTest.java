package dev.saeforge.api;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The committed CRD and the API classes work against a Kubernetes API server (fabric8's, in CRUD mode). */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
class TrainingRunApiServerTest {
    @Inject
    KubernetesClient client;

    @Test
    void aTrainingRunRoundTripsThroughTheApiServer() throws Exception {
        CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
                .load(Files.newInputStream(Crds.COMMITTED)).item();
        client.apiextensions().v1().customResourceDefinitions().resource(crd).create();

        TrainingRun run = TrainingRuns.read(Path.of("examples/qwen3-8b-layer28.yaml")).get(0);
        client.resources(TrainingRun.class).inNamespace("research").resource(run).create();

        TrainingRun stored = client.resources(TrainingRun.class).inNamespace("research").withName("qwen3-8b-layer28-mlp").get();
        assertThat(TrainingRuns.toYaml(stored)).contains("hook: blocks.28.hook_mlp_out");
        assertThat((Object) Mappers.json().valueToTree(stored.getSpec())).isEqualTo(Mappers.json().valueToTree(run.getSpec()));

        TrainingRunStatus status = new TrainingRunStatus();
        status.phase = TrainingRunStatus.Phase.Running;
        status.tokensTrained = 409_600L;
        status.progress = "0.0%";
        status.conditions.add(new ConditionBuilder().withType("Running").withStatus("True").withReason("JobActive")
                .withMessage("Job qwen3-8b-layer28-mlp-a0 is running").build());
        stored.setStatus(status);
        client.resources(TrainingRun.class).inNamespace("research").resource(stored).updateStatus();

        TrainingRun again = client.resources(TrainingRun.class).inNamespace("research").withName("qwen3-8b-layer28-mlp").get();
        assertThat(again.getStatus().phase).isEqualTo(TrainingRunStatus.Phase.Running);
        assertThat(again.getStatus().tokensTrained).isEqualTo(409_600L);
        assertThat(again.getStatus().conditions).extracting(c -> c.getReason()).containsExactly("JobActive");
        assertThat(client.resources(TrainingRun.class).inNamespace("research").list().getItems()).hasSize(1);
    }
}
