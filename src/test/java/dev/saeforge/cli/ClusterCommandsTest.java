package dev.saeforge.cli;

import dev.saeforge.api.Crds;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.operator.Reconciliation;
import dev.saeforge.operator.RunEvents;
import dev.saeforge.operator.RunReference;
import dev.saeforge.operator.RunStatusReporter;
import dev.saeforge.operator.SpecLock;
import dev.saeforge.operator.TrainingJobs;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** submit, get, describe, logs, cancel and delete against a Kubernetes API server (fabric8's, in CRUD mode). */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
class ClusterCommandsTest {
    static final String NS = "research";
    static final String SEED = "qwen3-8b-layer28-mlp";

    @KubernetesTestServer
    KubernetesServer server;

    @Inject
    KubernetesClient client;

    @Inject
    CommandLine.IFactory factory;

    record Result(int exitCode, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    Result saeforge(String... args) {
        CommandLine commandLine = SaeForgeCommand.configure(new CommandLine(SaeForgeCommand.class, factory));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new Result(exitCode, out.toString(), err.toString());
    }

    @BeforeEach
    void installCrd() throws Exception {
        if (client.apiextensions().v1().customResourceDefinitions().withName("trainingruns.saeforge.dev").get() == null) {
            client.apiextensions().v1().customResourceDefinitions().load(Files.newInputStream(Crds.COMMITTED)).create();
        }
    }

    @AfterEach
    void clean() {
        // A followed log stream is reset when the command closes it, and that can close the pooled
        // connection the next request here picks up: clean up until it goes through.
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
            for (String ns : List.of(NS, "test", "other")) {
                client.resources(TrainingRun.class).inNamespace(ns).delete();
                client.pods().inNamespace(ns).delete();
                client.v1().events().inNamespace(ns).delete();
            }
            assertThat(client.resources(TrainingRun.class).inAnyNamespace().list().getItems()).isEmpty();
        });
    }

    /** The toy example as a cluster takes it: its checkpoints explicitly pod-local, for a toy needs none to outlive its pod. */
    static String toyForCluster() {
        try {
            Path file = Files.createTempFile("toy-superposition", ".yaml");
            file.toFile().deleteOnExit();
            Files.writeString(file, Files.readString(Path.of("examples/toy-superposition.yaml")).replace("uri: runs", "uri: pod-local"));
            return file.toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    TrainingRun stored(String ns, String name) {
        return client.resources(TrainingRun.class).inNamespace(ns).withName(name).get();
    }

    /** A run as the operator and trainer would have left it: running attempt 2, progress reported. */
    TrainingRun running(String name) throws Exception {
        TrainingRun run = TrainingRuns.read(Path.of("examples/qwen3-8b-layer28.yaml")).get(0);
        run.getMetadata().setName(name);
        run.getMetadata().setNamespace(NS);
        client.resources(TrainingRun.class).inNamespace(NS).resource(run).create();
        client.resources(TrainingRun.class).inNamespace(NS).withName(name).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"status\": {\"phase\": \"Running\", \"attempts\": 2, \"restarts\": 1, \"jobName\": \"" + name + "-a2\","
                        + " \"message\": \"Job " + name + "-a2 is running (pod " + name + "-a2-x7k2p on node gpu-node-1)\","
                        + " \"traceId\": \"4bf92f3577b34da6a3ce929d0e0e4736\"}}");
        // conditions through the same kind of patch as the operator (lists are replaced, not merged)
        client.resources(TrainingRun.class).inNamespace(NS).withName(name).subresource("status").patch(PatchContext.of(PatchType.JSON),
                "[{\"op\": \"add\", \"path\": \"/status/conditions\", \"value\": [{\"type\": \"Valid\", \"status\": \"True\","
                        + " \"reason\": \"SpecValid\", \"message\": \"The spec passed validation\", \"lastTransitionTime\": \"2026-01-01T00:00:00Z\"},"
                        + " {\"type\": \"Running\", \"status\": \"True\", \"reason\": \"PodRunning\", \"message\": \"Job " + name
                        + "-a2 is running\", \"lastTransitionTime\": \"2026-01-01T00:10:00Z\"}]}]");
        new RunStatusReporter(client, new RunReference(NS, name), Clock.systemUTC()).report(new RunStatusReporter.Progress(
                516_096_000L, 1_228_800_000L, 13_650.5, Duration.ofMinutes(192),
                List.of(new RunStatusReporter.SaeProgress(name, "blocks.28.hook_mlp_out", 61.25, 0.8712, 12, null)),
                "s3://saeforge/runs/" + name + "/checkpoint-2"));
        return stored(NS, name);
    }

    static final String THREE_SAES = "qwen3-8b-three-saes";

    /** A run of three SAEs, running, with two of them reported (one evaluated) and the third not yet. */
    TrainingRun runningThreeSaes() throws Exception {
        TrainingRun run = TrainingRuns.read(Path.of("src/test/resources/specs/qwen3-8b-three-saes.yaml")).get(0);
        run.getMetadata().setNamespace(NS);
        client.resources(TrainingRun.class).inNamespace(NS).resource(run).create();
        client.resources(TrainingRun.class).inNamespace(NS).withName(THREE_SAES).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"status\": {\"phase\": \"Running\", \"attempts\": 2, \"restarts\": 1, \"jobName\": \"" + THREE_SAES + "-a2\"}}");
        new RunStatusReporter(client, new RunReference(NS, THREE_SAES), Clock.systemUTC()).report(new RunStatusReporter.Progress(
                516_096_000L, 1_228_800_000L, 13_650.5, Duration.ofMinutes(192), List.of(
                new RunStatusReporter.SaeProgress("mlp28-c1", "blocks.28.hook_mlp_out", 60.0, 0.88, 10, 0.9312),
                new RunStatusReporter.SaeProgress("mlp28-c3", "blocks.28.hook_mlp_out", 20.5, 0.8124, 2, null)), null));
        return stored(NS, THREE_SAES);
    }

    @Test
    void submitRefusesAnInvalidSpecWithItsFieldErrorsAndCreatesNothing() {
        Result result = saeforge("submit", "-n", NS, "src/test/resources/invalid-specs/bad-hook.yaml");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.err()).contains("src/test/resources/invalid-specs/bad-hook.yaml: spec.hook: \"blocks.x.hook_mlp_out\" is not a hook name");
        assertThat(result.out()).isEmpty();
        assertThat(client.resources(TrainingRun.class).inAnyNamespace().list().getItems()).isEmpty();
    }

    @Test
    void submitRefusesARunLargerThanItsGpuAndCreatesNothing(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("wide.yaml");
        Files.writeString(run, Files.readString(Path.of("examples/qwen3-8b-layer28.yaml")).replace("dSae: 16384", "dSae: 1048576"));

        Result result = saeforge("submit", "-n", NS, run.toString());

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.err()).startsWith(run + ": spec.resources.gpuProduct: the run needs an estimated ");
        assertThat(client.resources(TrainingRun.class).inAnyNamespace().list().getItems()).isEmpty();
    }

    @Test
    void submitCreatesTheNormalisedRunCarryingATraceContext() throws Exception {
        Result result = saeforge("submit", "-n", NS, "examples/qwen3-8b-layer28.yaml");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).matches("qwen3-8b-layer28-mlp: GPU memory \\d+\\.\\dGiB at peak \\((training|evaluating)\\): "
                + "fits an NVIDIA-A100-SXM4-80GB \\(80\\.0GiB\\)\ntrainingrun.saeforge.dev/qwen3-8b-layer28-mlp created\n");
        TrainingRun created = stored(NS, SEED);
        assertThat(created.getMetadata().getAnnotations()).as("the estimate, as validate -o yaml shows it").containsKey(MemoryCheck.ANNOTATION);
        assertThat(created.getSpec().training.lrEnd).as("defaults filled in, as validate -o yaml shows").isEqualTo(3e-5);
        assertThat(created.getMetadata().getAnnotations().get(TrainingRun.TRACEPARENT_ANNOTATION))
                .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        assertThat(TrainingJobs.traceId(created)).isNotNull();

        Result again = saeforge("submit", "-n", NS, "examples/qwen3-8b-layer28.yaml");
        assertThat(again.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(again.err()).contains("trainingrun \"qwen3-8b-layer28-mlp\" already exists in namespace \"research\"");
    }

    @Test
    void submittingAChangedSpecOverAStartedRunSaysItsSpecCannotChange(@TempDir Path dir) throws Exception {
        assertThat(saeforge("submit", "-n", NS, "examples/qwen3-8b-layer28.yaml").exitCode()).isZero();
        // The operator started it: the status records the spec it started from.
        TrainingRun started = stored(NS, SEED);
        started.setStatus(new TrainingRunStatus());
        started.getStatus().attempts = 1;
        started.getStatus().specHash = SpecLock.hash(started.getSpec());
        client.resources(TrainingRun.class).inNamespace(NS).resource(started).updateStatus();
        Path edited = dir.resolve("edited.yaml");
        Files.writeString(edited, Files.readString(Path.of("examples/qwen3-8b-layer28.yaml"))
                .replace("blocks.28.hook_mlp_out", "blocks.20.hook_mlp_out"));

        Result result = saeforge("submit", "-n", NS, edited.toString());

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.err()).contains("trainingrun \"qwen3-8b-layer28-mlp\" in namespace \"research\" has started with a different spec")
                .contains("only its suspend, cancel, maxRestarts, maxPreemptions and telemetry can change; nothing was changed");
        assertThat(stored(NS, SEED).getSpec().hook).isEqualTo("blocks.28.hook_mlp_out");
    }

    @Test
    void submitRefusesCheckpointsThatWouldVanishWithThePodAndCreatesNothing() {
        Result result = saeforge("submit", "-n", NS, "examples/toy-superposition.yaml");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.err()).contains("spec.checkpoints.uri", "\"runs\" is a directory inside the trainer's pod",
                "s3://BUCKET/PREFIX", "spec.checkpoints.volume.claimName", "pod-local").doesNotContain("Exception");
        assertThat(stored(NS, "toy-superposition")).isNull();
    }

    @Test
    void submitRefusesACacheThePodsCannotReachAndCreatesNothing(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cached.yaml");
        Files.writeString(file, Files.readString(Path.of("examples/qwen3-8b-layer28.yaml"))
                + "  activations:\n    cache: {uri: /data/cache}\n    parallelism: 4\n");

        Result result = saeforge("submit", "-n", NS, file.toString());

        assertThat(result.exitCode()).as(result.out()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.err()).contains("spec.activations.cache.uri: \"/data/cache\" is not reachable from every pod of the run",
                "s3://BUCKET/PREFIX", "spec.checkpoints.volume").doesNotContain("Exception");
        assertThat(stored(NS, "qwen3-8b-layer28-mlp")).isNull();
    }

    @Test
    void submitUsesTheCurrentContextsNamespaceLikeKubectl() {
        Result result = saeforge("submit", toyForCluster());

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(client.getNamespace()).isEqualTo("test");
        assertThat(stored("test", "toy-superposition")).isNotNull();
    }

    @Test
    void submitWatchFollowsTheRunUntilItFinishes() throws Exception {
        CompletableFuture<Result> watching = CompletableFuture.supplyAsync(() -> saeforge("submit", "-n", NS, "--watch", toyForCluster()));
        await().atMost(Duration.ofSeconds(30)).until(() -> stored(NS, "toy-superposition") != null);
        var status = client.resources(TrainingRun.class).inNamespace(NS).withName("toy-superposition").subresource("status");

        status.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\": {\"phase\": \"Running\", \"progress\": \"10.0%\"}}");
        status.patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\": {\"phase\": \"Succeeded\", \"progress\": \"100.0%\"}}");
        Result result = watching.get(60, TimeUnit.SECONDS);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.lines().get(0)).isEqualTo("trainingrun.saeforge.dev/toy-superposition created");
        assertThat(result.lines().get(1)).startsWith("NAME").contains("PHASE", "PROGRESS");
        assertThat(result.out()).containsPattern("toy-superposition +Succeeded +1 +100.0%");
    }

    @Test
    void submitWatchExitsOneWhenARunFails() {
        CompletableFuture<Result> watching = CompletableFuture.supplyAsync(() -> saeforge("submit", "-n", NS, "-w", toyForCluster()));
        await().atMost(Duration.ofSeconds(30)).until(() -> stored(NS, "toy-superposition") != null);

        client.resources(TrainingRun.class).inNamespace(NS).withName("toy-superposition").subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\": {\"phase\": \"Failed\", \"message\": \"Job toy-superposition-a1 failed: exit 2\"}}");

        Result result = watching.join();
        assertThat(result.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(result.err()).contains("toy-superposition: Job toy-superposition-a1 failed: exit 2");
    }

    @Test
    void getPrintsAKubectlStyleTable() throws Exception {
        running(SEED);
        TrainingRun toy = TrainingRuns.read(Path.of("examples/toy-superposition.yaml")).get(0);
        client.resources(TrainingRun.class).inNamespace(NS).resource(toy).create();

        Result result = saeforge("get", "-n", NS);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.lines()).hasSize(3);
        assertThat(result.lines().get(0)).matches("NAME {3,}PHASE {3,}SAES {3}PROGRESS {3}TOKENS/S {3}L0 {3,}EXPL-VAR {3}AGE");
        assertThat(result.lines().get(1)).matches("qwen3-8b-layer28-mlp {3}Running {3}1 {6}42\\.0% {6}13\\.7k {6}61\\.3 {3}0\\.871 {6}\\d+s");
        assertThat(result.lines().get(2)).matches("toy-superposition {6}- {9}1 {6}- {10}- {10}- {6}- {10}\\d+s");
    }

    @Test
    void getWideAddsRestartsEtaDeadFeaturesJobAndHook() throws Exception {
        running(SEED);

        Result result = saeforge("get", SEED, "-n", NS, "-o", "wide");

        assertThat(result.lines().get(0)).matches(".*AGE {3,}RESTARTS {3}ETA {3,}DEAD {3}JOB {3,}HOOK");
        assertThat(result.lines().get(1)).endsWith("1/3        3h12m   12     qwen3-8b-layer28-mlp-a2   blocks.28.hook_mlp_out");
    }

    @Test
    void getCountsARunsSaesAndLeavesTheirFiguresToTheWideRowsPerSae() throws Exception {
        runningThreeSaes();

        Result list = saeforge("get", "-n", NS);
        Result wide = saeforge("get", THREE_SAES, "-n", NS, "-o", "wide");

        assertThat(list.lines().get(1)).as("L0 and EXPL-VAR are per SAE").matches("qwen3-8b-three-saes {3}Running {3}3 {6}42\\.0% {6}13\\.7k {6}- {4}- {10}\\d+s");
        assertThat(wide.exitCode()).as(wide.err()).isZero();
        assertThat(wide.lines().get(1)).endsWith("qwen3-8b-three-saes-a2   blocks.28.hook_mlp_out,blocks.20.hook_resid_post");
        assertThat(wide.lines().subList(2, wide.lines().size())).containsExactly(
                "",
                "SAE        HOOK                        ARCHITECTURE   D_SAE   SPARSITY            L0     EXPL-VAR   DEAD   CE-SCORE",
                "mlp28-c1   blocks.28.hook_mlp_out      jumprelu       16384   l0Coefficient=1.0   60.0   0.880      10     0.931",
                "mlp28-c3   blocks.28.hook_mlp_out      jumprelu       16384   l0Coefficient=3.0   20.5   0.812      2      -",
                "resid20    blocks.20.hook_resid_post   jumprelu       8x      l0Coefficient=2.0   -      -          -      -");
    }

    @Test
    void getAllNamespacesLeadsWithTheNamespace() throws Exception {
        running(SEED);
        TrainingRun toy = TrainingRuns.read(Path.of("examples/toy-superposition.yaml")).get(0);
        client.resources(TrainingRun.class).inNamespace("other").resource(toy).create();

        Result result = saeforge("get", "-A");

        assertThat(result.lines()).hasSize(3);
        assertThat(result.lines().get(0)).startsWith("NAMESPACE   NAME");
        assertThat(result.lines().get(1)).startsWith("other       toy-superposition");
        assertThat(result.lines().get(2)).startsWith("research    qwen3-8b-layer28-mlp");
    }

    @Test
    void getYamlAndJsonPrintTheStoredObjects() throws Exception {
        running(SEED);

        Result yaml = saeforge("get", SEED, "-n", NS, "-o", "yaml");
        Result json = saeforge("get", SEED, "-n", NS, "-o", "json");

        TrainingRun fromYaml = TrainingRuns.parse(yaml.out(), "yaml").get(0);
        assertThat(fromYaml.getStatus().phase).isEqualTo(TrainingRunStatus.Phase.Running);
        assertThat(fromYaml.getStatus().tokensTrained).isEqualTo(516_096_000L);
        assertThat(fromYaml.getMetadata().getUid()).isEqualTo(stored(NS, SEED).getMetadata().getUid());
        assertThat(TrainingRuns.parse(json.out(), "json").get(0).getSpec().hook).isEqualTo("blocks.28.hook_mlp_out");
        assertThat(json.out()).startsWith("{").contains("\"kind\" : \"TrainingRun\"");
    }

    @Test
    void getOfAMissingRunFailsAndAnEmptyNamespaceSaysSo() {
        Result missing = saeforge("get", "nope", "-n", NS);
        Result empty = saeforge("get", "-n", NS);

        assertThat(missing.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(missing.err()).isEqualTo("error: trainingrun \"nope\" not found in namespace \"research\"\n");
        assertThat(empty.exitCode()).isZero();
        assertThat(empty.out()).isEmpty();
        assertThat(empty.err()).isEqualTo("No TrainingRuns found in namespace \"research\".\n");
    }

    @Test
    void describeShowsSpecStatusConditionsCheckpointsAndEvents() throws Exception {
        TrainingRun run = running(SEED);
        RunEvents events = new RunEvents(client, "saeforge-operator-0", Clock.systemUTC());
        events.record(run, new Reconciliation.RunEvent("Normal", "JobCreated", "Created Job qwen3-8b-layer28-mlp-a1 for attempt 1"));
        events.record(run, new Reconciliation.RunEvent("Warning", "Restarting", "Attempt 1: Job qwen3-8b-layer28-mlp-a1 failed: pod x exited with code 75"));

        Result result = saeforge("describe", SEED, "-n", NS);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains(
                "Name:         qwen3-8b-layer28-mlp",
                "Namespace:    research",
                "Model:        Qwen/Qwen3-8B from hf://Qwen/Qwen3-8B (bfloat16)",
                "Hook:         blocks.28.hook_mlp_out",
                "SAE:          jumprelu, d_in 4096, d_sae 16384, l0Coefficient 1.0",
                "Resources:    1 x nvidia.com/gpu (NVIDIA-A100-SXM4-80GB), cpu 8, memory 120Gi, /dev/shm 16Gi",
                "Phase:        Running",
                "Attempts:     2 (restarts 1 of at most 3, preemptions 0)",
                "Job:          qwen3-8b-layer28-mlp-a2",
                "Progress:     42.0% (516096000 of 1228800000 tokens), 13.7k tokens/s, ETA 3h12m",
                "Metrics:      L0 61.25, explained variance 0.8712, dead features 12",
                "Trace ID:     4bf92f3577b34da6a3ce929d0e0e4736",
                "Checkpoints written:\n  s3://saeforge/runs/qwen3-8b-layer28-mlp/checkpoint-2\n");
        assertThat(result.out()).containsPattern("\n  TYPE +STATUS +REASON +SINCE +MESSAGE\n  Valid +True +SpecValid +\\S+ +The spec passed validation\n"
                + "  Running +True +PodRunning +\\S+ +Job qwen3-8b-layer28-mlp-a2 is running\n");
        assertThat(result.out()).containsPattern("\nEvents:\n  TYPE +REASON +AGE +FROM +MESSAGE\n"
                + "  Normal +JobCreated +\\d+s +saeforge-operator +Created Job qwen3-8b-layer28-mlp-a1 for attempt 1\n"
                + "  Warning +Restarting +\\d+s +saeforge-operator +Attempt 1: .*exited with code 75\n");
    }

    static final String CACHED = "qwen3-8b-cached";

    /** A run whose cache Job runs: 3 of 8 indexes done, index 4 lost for good, 4 pods at work. */
    TrainingRun generatingCache() throws Exception {
        TrainingRun run = TrainingRuns.read(Path.of("examples/qwen3-8b-layer28.yaml")).get(0);
        run.getMetadata().setName(CACHED);
        run.getMetadata().setNamespace(NS);
        run.getSpec().activations = new dev.saeforge.api.ActivationsSpec();
        run.getSpec().activations.cache = new dev.saeforge.api.ActivationCacheSpec();
        run.getSpec().activations.cache.uri = "s3://saeforge/cache/qwen3-8b";
        run.getSpec().activations.parallelism = 8;
        client.resources(TrainingRun.class).inNamespace(NS).resource(run).create();
        client.resources(TrainingRun.class).inNamespace(NS).withName(CACHED).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"status\": {\"phase\": \"Running\", \"cache\": {\"job\": \"" + CACHED + "-cache\", \"phase\": \"Running\","
                        + " \"indexes\": 8, \"succeeded\": \"0-2\", \"failed\": \"4\", \"active\": 4, \"podFailures\": 5}}}");
        return stored(NS, CACHED);
    }

    @Test
    void getShowsTheCachesIndexesAsProgressWhileItIsGenerated() throws Exception {
        generatingCache();

        Result result = saeforge("get", CACHED, "-n", NS);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.lines().get(1)).matches(CACHED + " {3}Running {3}1 {6}cache 3/8 {3}- {10}- {4}- {10}\\d+s");
    }

    @Test
    void describeShowsTheCacheAndTheStateOfEachIndex() throws Exception {
        generatingCache();

        Result result = saeforge("describe", CACHED, "-n", NS);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains(
                "Cache:        s3://saeforge/cache/qwen3-8b (mode auto, generated first by 8 pods)",
                "Cache job:    " + CACHED + "-cache: Running, 3/8 indexes succeeded, 4 pods running, 5 pod failures",
                "  succeeded:  0-2",
                "  failed:     4",
                "  unfinished: 3,5-7");
    }

    @Test
    void describeShowsARowPerSaeWithWhereEachStands() throws Exception {
        runningThreeSaes();

        Result result = saeforge("describe", THREE_SAES, "-n", NS);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).contains(
                "Model:        Qwen/Qwen3-8B from hf://Qwen/Qwen3-8B (bfloat16)\n"
                        + "Dataset:      hf://datasets/HuggingFaceFW/fineweb (field text, context 128 tokens)\n"
                        + "SAEs:         3\n"
                        + "  SAE       HOOK                       ARCHITECTURE  D_SAE  SPARSITY           L0    EXPL-VAR  DEAD  CE-SCORE\n"
                        + "  mlp28-c1  blocks.28.hook_mlp_out     jumprelu      16384  l0Coefficient=1.0  60.0  0.880     10    0.931\n"
                        + "  mlp28-c3  blocks.28.hook_mlp_out     jumprelu      16384  l0Coefficient=3.0  20.5  0.812     2     -\n"
                        + "  resid20   blocks.20.hook_resid_post  jumprelu      8x     l0Coefficient=2.0  -     -         -     -\n"
                        + "Training:",
                "Progress:     42.0% (516096000 of 1228800000 tokens), 13.7k tokens/s, ETA 3h12m");
        assertThat(result.out()).doesNotContain("Hook:", "SAE:  ", "Metrics:");
    }

    @Test
    void describeOfARunTheOperatorHasNotSeenSaysSo() throws Exception {
        saeforge("submit", "-n", NS, toyForCluster());

        Result result = saeforge("describe", "toy-superposition", "-n", NS);

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).contains("Synthetic:    64 features in 32 dimensions", "Phase:        -",
                "Conditions: <none>", "Events: <none>");
    }

    @Test
    void logsPrintsTheTrainerLogOfTheCurrentAttemptsPod() throws Exception {
        running(SEED);
        pod(SEED, 2);
        server.expect().get().withPath("/api/v1/namespaces/research/pods/" + SEED + "-a2-x7k2p/log?pretty=false&container=trainer")
                .andReturn(200, "step 100: l0 61.2\nstep 110: l0 61.0\n").once();

        Result result = saeforge("logs", SEED, "-n", NS);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo("step 100: l0 61.2\nstep 110: l0 61.0\n");
    }

    @Test
    void logsFollowStreamsUntilTheContainerEnds() throws Exception {
        running(SEED);
        pod(SEED, 2);
        server.expect().get().withPath("/api/v1/namespaces/research/pods/" + SEED + "-a2-x7k2p/log?pretty=false&container=trainer&follow=true")
                .andReturn(200, "step 1\nstep 2\ncheckpoint written\n").once();

        Result result = saeforge("logs", SEED, "-n", NS, "-f");

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.lines()).containsExactly("step 1", "step 2", "checkpoint written");
    }

    @Test
    void logsOfARunWithoutAPodSaysWhy() throws Exception {
        running(SEED);

        Result noPod = saeforge("logs", SEED, "-n", NS);
        Result noAttempt = saeforge("logs", SEED, "-n", NS, "--attempt", "7");

        assertThat(noPod.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(noPod.err()).contains("attempt 2 of trainingrun \"qwen3-8b-layer28-mlp\" has no pod");
        assertThat(noAttempt.err()).contains("has 2 attempt(s)");
    }

    void pod(String run, int attempt) {
        client.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName(run + "-a" + attempt + "-x7k2p")
                .addToLabels(TrainingJobs.RUN_LABEL, run).addToLabels(TrainingJobs.ATTEMPT_LABEL, Integer.toString(attempt))
                .endMetadata().withNewSpec().addNewContainer().withName("trainer").withImage("saeforge").endContainer().endSpec().build()).create();
    }

    @Test
    void cancelAsksTheOperatorToStopTheRun() throws Exception {
        running(SEED);

        Result result = saeforge("cancel", SEED, "-n", NS);

        assertThat(result.exitCode()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo("trainingrun.saeforge.dev/qwen3-8b-layer28-mlp cancel requested; the operator stops its Job\n");
        assertThat(stored(NS, SEED).getSpec().cancel).isTrue();
        assertThat(stored(NS, SEED).getStatus().tokensTrained).as("status untouched").isEqualTo(516_096_000L);
    }

    @Test
    void cancellingAFinishedRunChangesNothing() throws Exception {
        running(SEED);
        client.resources(TrainingRun.class).inNamespace(NS).withName(SEED).subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\": {\"phase\": \"Succeeded\"}}");

        Result result = saeforge("cancel", SEED, "-n", NS);

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).contains("already Succeeded; nothing to cancel");
        assertThat(stored(NS, SEED).getSpec().cancel).isFalse();
        assertThat(saeforge("cancel", "nope", "-n", NS).exitCode()).isEqualTo(ExitCodes.FAILURE);
    }

    @Test
    void deleteRemovesTheRun() throws Exception {
        running(SEED);

        Result result = saeforge("delete", SEED, "-n", NS);
        Result again = saeforge("delete", SEED, "-n", NS);

        assertThat(result.exitCode()).isZero();
        assertThat(result.out()).isEqualTo("trainingrun.saeforge.dev \"qwen3-8b-layer28-mlp\" deleted\n");
        assertThat(stored(NS, SEED)).isNull();
        assertThat(again.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(again.err()).contains("not found in namespace \"research\"");
    }
}
