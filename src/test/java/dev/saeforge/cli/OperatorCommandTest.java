package dev.saeforge.cli;

import dev.saeforge.api.Crds;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** saeforge operator as the Deployment runs it: a configuration file, a Lease, probes, Jobs for runs. */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
class OperatorCommandTest {
    @Inject
    KubernetesClient client;

    @Inject
    CommandLine.IFactory factory;

    CommandLine commandLine(StringWriter out, StringWriter err) {
        CommandLine commandLine = SaeForgeCommand.configure(new CommandLine(SaeForgeCommand.class, factory));
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine;
    }

    @Test
    void theOperatorRunsTheRunsOfItsNamespacesWithTheConfiguredImageAndAnswersItsProbes() throws Exception {
        client.apiextensions().v1().customResourceDefinitions().load(Files.newInputStream(Crds.COMMITTED)).create();
        client.serviceAccounts().inNamespace("research").resource(new ServiceAccountBuilder().withNewMetadata()
                .withName("saeforge-trainer").endMetadata().build()).create();
        Path config = Files.createTempFile("operator", ".yaml");
        Files.writeString(config, """
                image: registry.example/saeforge:7.0.0
                namespaces: [research]
                s3: {endpoint: "http://minio.minio:9000", credentialsSecret: saeforge-s3}
                """);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        AtomicInteger exitCode = new AtomicInteger(-1);
        Thread operator = new Thread(() -> exitCode.set(commandLine(out, err).execute(
                "operator", "--config", config.toString(), "--health-port", "0", "--identity", "operator-0")));
        operator.start();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> err.toString().contains("health on port"));
            Matcher port = Pattern.compile("health on port (\\d+)").matcher(err.toString());
            assertThat(port.find()).isTrue();
            assertThat(err.toString()).contains("watching research", "lease test/saeforge-operator");

            TrainingRun run = TrainingRuns.read(Path.of("examples/qwen3-8b-layer28.yaml")).get(0);
            client.resources(TrainingRun.class).inNamespace("research").resource(run).create();
            Job job = await().atMost(Duration.ofSeconds(30)).until(
                    () -> client.batch().v1().jobs().inNamespace("research").withName("qwen3-8b-layer28-mlp-a1").get(), Objects::nonNull);

            assertThat(job.getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo("registry.example/saeforge:7.0.0");
            assertThat(client.leases().inNamespace("test").withName("saeforge-operator").get().getSpec().getHolderIdentity()).isEqualTo("operator-0");
            await().atMost(Duration.ofSeconds(30)).until(() -> status(port.group(1), "/readyz") == 200);
            assertThat(status(port.group(1), "/healthz")).isEqualTo(200);
        } finally {
            operator.interrupt();
            operator.join(30_000);
        }
        assertThat(operator.isAlive()).isFalse();
        assertThat(exitCode.get()).as(err.toString()).isEqualTo(ExitCodes.OK);
        assertThat(client.leases().inNamespace("test").withName("saeforge-operator").get().getSpec().getLeaseDurationSeconds())
                .as("released: fabric8 marks the lease as expiring in a second").isEqualTo(1);
    }

    static int status(String port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void aBadConfigurationIsRefusedWithTheFieldNamed() throws Exception {
        Path config = Files.createTempFile("operator", ".yaml");
        Files.writeString(config, "image: registry.example/saeforge:7.0.0\nnamespaces: [Research]\nimagePullPolicy: Sometimes\n");
        Path unknown = Files.createTempFile("operator", ".yaml");
        Files.writeString(unknown, "imgae: registry.example/saeforge:7.0.0\n");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        assertThat(commandLine(out, err).execute("operator", "--config", config.toString())).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(err.toString()).contains("imagePullPolicy: \"Sometimes\" is not one of Always, IfNotPresent, Never",
                "namespaces: \"Research\" is not a namespace name");
        assertThat(commandLine(out, err).execute("operator", "--config", unknown.toString())).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(err.toString()).contains("Unrecognized field \"imgae\"");
        assertThat(commandLine(out, err).execute("operator", "--config", "no/such/operator.yaml")).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(err.toString()).contains("no/such/operator.yaml: no such file");
        assertThat(commandLine(out, err).execute("operator", "-A", "-n", "research")).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(err.toString()).contains("use either -n or -A, not both");
    }
}
