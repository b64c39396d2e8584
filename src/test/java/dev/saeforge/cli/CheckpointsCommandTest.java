package dev.saeforge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeCheckpointDirs;
import dev.saeforge.store.Safetensors;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * saeforge checkpoints list|inspect|pull on a file store holding a single-SAE run with two
 * checkpoints and a run of three SAEs with one, laid out as the trainer lays them out.
 */
@QuarkusMainTest
class CheckpointsCommandTest {
    static final String SEVERAL = "qwen3-8b-three-saes";

    static Path root;
    static Path stored;

    @AfterAll
    static void removeIt() throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    @BeforeAll
    static void publishARun() throws IOException {
        root = Files.createTempDirectory("checkpoints-cli");
        stored = root.resolve("runs");
        try (CheckpointStore store = CheckpointStore.open(stored.toString(), Map.of())) {
            store.publish("toy", "819200", checkpoint(root.resolve("b"), 819200), Map.of("tokens", 819200, "step", 200,
                    "metrics", Map.of("l0", 12.5, "explained_variance", 0.91)));
            store.publish("toy", "409600", checkpoint(root.resolve("a"), 409600), Map.of("tokens", 409600, "step", 100));
            publishSeveral(store, root.resolve("several"));
        }
        try (CheckpointStore store = CheckpointStore.open(CLUSTER_RUN.checkpointLocation(stored.toString()), Map.of())) {
            store.publish(CLUSTER_RUN, "409600", checkpoint(root.resolve("cluster"), 409600), Map.of("tokens", 409600, "step", 100));
        }
    }

    /** A run trained in a cluster: its checkpoints are under the store's directory of its namespace. */
    static final RunIdentity CLUSTER_RUN = new RunIdentity("team-a", "l28", "5f0c-uid", 2);

    @Test
    void aClusterRunsCheckpointsAreFoundByItsNamespaceAndShowWhoWroteThem(QuarkusMainLauncher launcher) {
        LaunchResult list = launcher.launch("checkpoints", "list", "--store", stored.toString(), "-n", "team-a", "l28");
        LaunchResult byUri = launcher.launch("checkpoints", "list", stored.toUri() + "team-a/l28");
        LaunchResult inspect = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), "--namespace", "team-a", "l28/409600");
        LaunchResult badNamespace = launcher.launch("checkpoints", "list", "--store", stored.toString(), "-n", "../toy", "l28");

        assertThat(list.exitCode()).as(list.getErrorOutput()).isZero();
        assertThat(list.getOutput()).contains("409600");
        assertThat(byUri.exitCode()).as(byUri.getErrorOutput()).isZero();
        assertThat(byUri.getOutput()).contains("409600");
        assertThat(inspect.exitCode()).as(inspect.getErrorOutput()).isZero();
        assertThat(inspect.getOutput()).contains("Run:       l28", "Writer:    team-a/l28, uid 5f0c-uid, attempt 2");
        assertThat(badNamespace.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(badNamespace.getErrorOutput()).contains("namespace \"../toy\" is not a Kubernetes namespace name");
    }

    /**
     * Publishes checkpoint 409600 of run qwen3-8b-three-saes (written into {@code dir} first) as
     * the trainer lays out a run of several SAEs: a SAELens directory per SAE, one manifest whose
     * info lists the SAEs with their figures.
     */
    static void publishSeveral(CheckpointStore store, Path dir) throws IOException {
        store.publish(SEVERAL, "409600", SaeCheckpointDirs.writeSeveral(dir, 8, 16, 409600, Map.of(
                        "mlp28-c1", "blocks.28.hook_mlp_out", "mlp28-c3", "blocks.28.hook_mlp_out", "resid20", "blocks.20.hook_resid_post")),
                Map.of("step", 100, "tokens", 409600, "final", false, "saes", List.of(
                        sae("mlp28-c1", "blocks.28.hook_mlp_out", 12, 61.25, 0.8712, 0.931),
                        sae("mlp28-c3", "blocks.28.hook_mlp_out", 2, 20.5, 0.812, null),
                        sae("resid20", "blocks.20.hook_resid_post", 0, 40.0, 0.7, null))));
    }

    /** An entry of a multi-SAE checkpoint's info.saes, as the trainer records it. */
    static Map<String, Object> sae(String name, String hook, int dead, double l0, double explainedVariance, Double ceLossScore) {
        Map<String, Object> evaluation = new LinkedHashMap<>();
        evaluation.put("explained_variance", explainedVariance);
        evaluation.put("l0", l0);
        evaluation.put("mse", 0.01);
        if (ceLossScore != null) {
            evaluation.put("ce_loss_score", ceLossScore);
        }
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("name", name);
        entry.put("hook", hook);
        entry.put("directory", name);
        entry.put("dead_features", dead);
        entry.put("metrics", Map.of("l0", l0 + 1, "explained_variance", explainedVariance - 0.01));
        entry.put("evaluation", evaluation);
        return entry;
    }

    /** A small SAELens checkpoint: cfg.json and sae_weights.safetensors with d_in 8, d_sae 16. */
    static Path checkpoint(Path dir, long tokens) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cfg.json"), """
                {"architecture": "jumprelu", "d_in": 8, "d_sae": 16, "dtype": "float32",
                 "metadata": {"model_name": "Qwen/Qwen3-0.6B", "hook_name": "blocks.3.hook_mlp_out", "context_size": 128}}
                """);
        Safetensors.writer()
                .addFloats("W_enc", Safetensors.Dtype.F32, new long[]{8, 16}, new float[128])
                .addFloats("W_dec", Safetensors.Dtype.F32, new long[]{16, 8}, new float[128])
                .addFloats("b_enc", Safetensors.Dtype.F32, new long[]{16}, new float[16])
                .addFloats("b_dec", Safetensors.Dtype.F32, new long[]{8}, new float[8])
                .addFloats("threshold", Safetensors.Dtype.F32, new long[]{16}, new float[16])
                .write(dir.resolve("sae_weights.safetensors"));
        Safetensors.writer().addLongs("n_dataset_processed", new long[]{}, new long[]{tokens / 128})
                .write(dir.resolve("activations_store_state.safetensors"));
        return dir;
    }

    @Test
    void listPrintsATableOldestFirst(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "list", "--store", stored.toString(), "toy");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput().lines().map(line -> line.split(" +")).toList())
                .satisfiesExactly(
                        header -> assertThat(header).containsExactly("NAME", "TOKENS", "STEP", "SAES", "COMPLETE", "SIZE", "CREATED"),
                        first -> assertThat(first).startsWith("409600", "409600", "100", "1", "yes").doesNotContain("(latest)"),
                        second -> assertThat(second).startsWith("819200", "819200", "200", "1", "yes", "(latest)"));
    }

    @Test
    void aRunNamedAloneMeansItsNewestCompleteCheckpoint(QuarkusMainLauncher launcher) throws IOException {
        Path bare = root.resolve("pulled-run");
        Path byUri = root.resolve("pulled-run-uri");

        LaunchResult pull = launcher.launch("checkpoints", "pull", "--store", stored.toString(), "toy", bare.toString());
        LaunchResult pullUri = launcher.launch("checkpoints", "pull", stored.toUri() + "toy", byUri.toString());
        LaunchResult inspect = launcher.launch("checkpoints", "inspect", stored.toUri() + "toy/");

        assertThat(pull.exitCode()).as(pull.getErrorOutput()).isZero();
        assertThat(pull.getOutput()).startsWith("Pulled " + stored.toUri() + "toy/819200 into " + bare);
        assertThat(bare.resolve("sae_weights.safetensors")).hasSameBinaryContentAs(stored.resolve("toy/819200/sae_weights.safetensors"));
        assertThat(pullUri.exitCode()).as(pullUri.getErrorOutput()).isZero();
        assertThat(pullUri.getOutput()).startsWith("Pulled " + stored.toUri() + "toy/819200 into " + byUri);
        assertThat(inspect.exitCode()).as(inspect.getErrorOutput()).isZero();
        assertThat(inspect.getOutput()).startsWith("Name:      819200\nRun:       toy\n");
    }

    @Test
    void listCountsTheSaesOfEachCheckpointAndListsThoseOfOne(QuarkusMainLauncher launcher) {
        LaunchResult run = launcher.launch("checkpoints", "list", "--store", stored.toString(), SEVERAL);
        LaunchResult checkpoint = launcher.launch("checkpoints", "list", "--store", stored.toString(), SEVERAL + "/409600");
        LaunchResult one = launcher.launch("checkpoints", "list", stored.toUri() + SEVERAL + "/409600/resid20");

        assertThat(run.exitCode()).as(run.getErrorOutput()).isZero();
        assertThat(run.getOutput().lines().toList().get(1).split(" +")).startsWith("409600", "409600", "100", "3", "yes");
        assertThat(checkpoint.exitCode()).as(checkpoint.getErrorOutput()).isZero();
        assertThat(checkpoint.getOutput().lines()).containsExactly(
                "SAE        HOOK                        L0     EXPL-VAR   DEAD   CE-SCORE",
                "mlp28-c1   blocks.28.hook_mlp_out      61.3   0.871      12     0.931",
                "mlp28-c3   blocks.28.hook_mlp_out      20.5   0.812      2      -",
                "resid20    blocks.20.hook_resid_post   40.0   0.700      0      -");
        assertThat(one.getOutput().lines()).containsExactly(
                "SAE       HOOK                        L0     EXPL-VAR   DEAD   CE-SCORE",
                "resid20   blocks.20.hook_resid_post   40.0   0.700      0      -");
    }

    @Test
    void listOfACheckpointPrintsItsSaesAsJson(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult json = launcher.launch("checkpoints", "list", "--store", stored.toString(), SEVERAL + "/409600", "-o", "json");

        assertThat(json.exitCode()).as(json.getErrorOutput()).isZero();
        JsonNode doc = new ObjectMapper().readTree(json.getOutput());
        assertThat(doc.path("checkpoint").asText()).isEqualTo("409600");
        assertThat(doc.path("saes")).extracting(sae -> sae.path("name").asText()).containsExactly("mlp28-c1", "mlp28-c3", "resid20");
        assertThat(doc.path("saes").get(1).path("uri").asText()).isEqualTo(stored.toUri() + SEVERAL + "/409600/mlp28-c3");
        assertThat(doc.path("saes").get(1).path("info").path("evaluation").path("l0").asDouble()).isEqualTo(20.5);
    }

    @Test
    void listTakesAUriAndPrintsJsonOrYaml(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult json = launcher.launch("checkpoints", "list", stored.toUri() + "toy", "-o", "json");

        assertThat(json.exitCode()).isZero();
        JsonNode doc = new ObjectMapper().readTree(json.getOutput());
        assertThat(doc.path("run").asText()).isEqualTo("toy");
        assertThat(doc.path("checkpoints")).hasSize(2);
        assertThat(doc.path("checkpoints").get(1).path("name").asText()).isEqualTo("819200");
        assertThat(doc.path("checkpoints").get(1).path("info").path("metrics").path("l0").asDouble()).isEqualTo(12.5);
        assertThat(doc.path("checkpoints").get(1).path("uri").asText()).isEqualTo(stored.toUri() + "toy/819200");
        assertThat(doc.path("checkpoints")).extracting(checkpoint -> checkpoint.path("latest").asBoolean()).containsExactly(false, true);

        LaunchResult yaml = launcher.launch("checkpoints", "list", "--store", stored.toString(), "toy", "-o", "yaml");
        assertThat(yaml.exitCode()).isZero();
        assertThat(Mappers.yaml().readTree(yaml.getOutput()).path("checkpoints").get(0).path("tokens").asLong()).isEqualTo(409600);
    }

    @Test
    void inspectPrintsConfigTensorsMetricsAndCompleteness(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), "toy/819200");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput())
                .contains("Name:      819200", "Tokens:    819200", "Step:      200")
                .contains("Complete:  yes (3 files, sizes and sha256 verified)")
                .containsPattern("architecture: +jumprelu")
                .containsPattern("d_sae: +16")
                .containsPattern("hook_name: +blocks.3.hook_mlp_out")
                .contains("  sae_weights.safetensors:")
                .containsPattern("W_enc +F32 +\\[8, 16]")
                .containsPattern("threshold +F32 +\\[16]")
                .containsPattern("n_dataset_processed +I64 +\\[]")
                .contains("  metrics.l0: 12.5", "  metrics.explained_variance: 0.91");
    }

    @Test
    void inspectOfACheckpointOfSeveralSaesListsThemInsteadOfAConfig(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), SEVERAL + "/409600");

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        assertThat(result.getOutput())
                .contains("Complete:  yes (17 files, sizes and sha256 verified)")
                .contains("SAEs (inspect RUN/NAME/SAE for one):\n"
                        + "  SAE        HOOK                        L0     EXPL-VAR   DEAD   CE-SCORE\n"
                        + "  mlp28-c1   blocks.28.hook_mlp_out      61.3   0.871      12     0.931\n")
                .contains("Tensors:\n  (none)\n")
                .endsWith("Metrics:\n  final: false")
                .doesNotContain("Config (", "sae_weights.safetensors", "saes:");
    }

    @Test
    void inspectOfOneSaeShowsItsConfigTensorsAndFigures(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), SEVERAL + "/409600/mlp28-c1");

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        assertThat(result.getOutput())
                .contains("Name:      409600\nRun:       " + SEVERAL + "\nSAE:       mlp28-c1\nHook:      blocks.28.hook_mlp_out\n")
                .contains("URI:       " + stored.toUri() + SEVERAL + "/409600/mlp28-c1\n")
                .contains("Config (mlp28-c1/cfg.json):")
                .containsPattern("hook_name: +blocks.28.hook_mlp_out")
                .contains("  mlp28-c1/sae_weights.safetensors:", "  mlp28-c1/sparsity.safetensors:")
                .containsPattern("W_enc +F32 +\\[8, 16]")
                .contains("  dead_features: 12", "  evaluation.ce_loss_score: 0.931", "  metrics.l0: 62.25")
                .doesNotContain("mlp28-c3/", "resid20/", "name: mlp28-c1");
    }

    @Test
    void aSingleSaeCheckpointAnswersToTheRunsNameAsItsSae(QuarkusMainLauncher launcher) {
        Path into = root.resolve("pulled-single");

        LaunchResult inspect = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), "toy/819200/toy");
        LaunchResult pull = launcher.launch("checkpoints", "pull", "--store", stored.toString(), "toy/409600/toy", into.toString());

        assertThat(inspect.exitCode()).as(inspect.getErrorOutput()).isZero();
        assertThat(inspect.getOutput()).contains("SAE:       toy", "URI:       " + stored.toUri() + "toy/819200\n", "Config (cfg.json):",
                "  metrics.l0: 12.5");
        assertThat(pull.exitCode()).as(pull.getErrorOutput()).isZero();
        assertThat(into.resolve("sae_weights.safetensors")).hasSameBinaryContentAs(stored.resolve("toy/409600/sae_weights.safetensors"));
    }

    @Test
    void anSaeTheCheckpointDoesNotHoldIsRefusedWithTheOnesItHas(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), SEVERAL + "/409600/mlp28-c2");
        LaunchResult single = launcher.launch("checkpoints", "pull", "--store", stored.toString(), "toy/409600/other", root.resolve("x").toString());

        assertThat(result.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(result.getErrorOutput()).isEqualTo("checkpoint " + stored.toUri() + SEVERAL + "/409600 has no SAE mlp28-c2;"
                + " it has mlp28-c1, mlp28-c3, resid20");
        assertThat(single.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(single.getErrorOutput()).endsWith("has no SAE other; it has toy");
        assertThat(root.resolve("x")).doesNotExist();
    }

    @Test
    void inspectOfACorruptedCheckpointSaysWhichFileAndExitsOne(QuarkusMainLauncher launcher) throws IOException {
        Path copy = root.resolve("corrupt-store");
        try (CheckpointStore store = CheckpointStore.open(copy.toString(), Map.of())) {
            store.publish("toy", "409600", checkpoint(root.resolve("c"), 409600), Map.of("tokens", 409600));
        }
        Files.writeString(copy.resolve("toy/409600/cfg.json"), "{\"architecture\": \"standard\", \"d_in\": 8, \"d_sae\": 16}  ");

        LaunchResult result = launcher.launch("checkpoints", "inspect", copy.toUri() + "toy/409600");

        assertThat(result.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(result.getOutput()).containsPattern("Complete:  no: cfg.json is \\d+ bytes; the manifest says \\d+");
    }

    @Test
    void pullWritesAVerifiedCopy(QuarkusMainLauncher launcher) throws IOException {
        Path into = root.resolve("pulled");

        LaunchResult result = launcher.launch("checkpoints", "pull", "--store", stored.toString(), "toy/409600", into.toString());

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).startsWith("Pulled " + stored.toUri() + "toy/409600 into " + into + " (3 files, ");
        assertThat(into.resolve("sae_weights.safetensors")).hasSameBinaryContentAs(stored.resolve("toy/409600/sae_weights.safetensors"));
    }

    @Test
    void pullOfOneSaeWritesItsSaeLensDirectoryAloneVerified(QuarkusMainLauncher launcher) throws IOException {
        Path into = root.resolve("pulled-resid20");

        LaunchResult result = launcher.launch("checkpoints", "pull", stored.toUri() + SEVERAL + "/409600/resid20", into.toString());

        assertThat(result.exitCode()).as(result.getErrorOutput()).isZero();
        assertThat(result.getOutput()).startsWith("Pulled " + stored.toUri() + SEVERAL + "/409600/resid20 into " + into + " (5 files, ");
        try (Stream<Path> files = Files.list(into)) {
            assertThat(files.map(file -> file.getFileName().toString())).containsExactlyInAnyOrder("cfg.json", "sae_weights.safetensors",
                    "sparsity.safetensors", "activation_scaler.json", "trainer_state.json");
        }
        for (String file : List.of("cfg.json", "sae_weights.safetensors", "sparsity.safetensors")) {
            assertThat(into.resolve(file)).hasSameBinaryContentAs(stored.resolve(SEVERAL + "/409600/resid20/" + file));
        }
    }

    @Test
    void malformedS3AddressesExitTwoNamingTheValueBeforeAnyRequest(QuarkusMainLauncher launcher) {
        LaunchResult bucket = launcher.launch("checkpoints", "list", "s3://my..bucket/runs/toy");
        LaunchResult prefix = launcher.launch("checkpoints", "inspect", "--store", "s3://ckpt/team//runs", "toy/409600");
        LaunchResult dots = launcher.launch("checkpoints", "pull", "s3://ckpt/runs/../toy/409600", root.resolve("out").toString());

        assertThat(bucket.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(bucket.getErrorOutput()).contains("names bucket \"my..bucket\", which has two periods in a row");
        assertThat(prefix.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(prefix.getErrorOutput()).contains("has key \"team//runs\", which has an empty part (//)");
        assertThat(dots.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(dots.getErrorOutput()).contains("has key \"runs/..\", which has a \".\" or \"..\" part");
        assertThat(root.resolve("out")).doesNotExist();
    }

    @Test
    void badArgumentsExitTwoWithWhatWasExpected(QuarkusMainLauncher launcher) {
        LaunchResult missing = launcher.launch("checkpoints", "inspect", "--store", stored.toString(), "toy/1");
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(missing.getErrorOutput()).isEqualTo("run toy in " + stored.toUri().toString().replaceAll("/$", "")
                + " has no checkpoint 1; it has 409600, 819200");

        LaunchResult noRun = launcher.launch("checkpoints", "pull", "--store", stored.toString(), "nothing-here", root.resolve("out").toString());
        assertThat(noRun.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(noRun.getErrorOutput()).isEqualTo("run nothing-here in " + stored.toUri().toString().replaceAll("/$", "")
                + " has no complete checkpoint; it has no checkpoints at all");
        assertThat(root.resolve("out")).doesNotExist();

        LaunchResult nothingAtUri = launcher.launch("checkpoints", "inspect", stored.toUri() + "toy/409600/toy/extra");
        assertThat(nothingAtUri.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(nothingAtUri.getErrorOutput()).startsWith("nothing is stored at " + stored.toUri() + "toy/409600/toy/extra: it is not a checkpoint");

        LaunchResult badScheme = launcher.launch("checkpoints", "list", "--store", "gs://bucket/runs", "toy");
        assertThat(badScheme.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(badScheme.getErrorOutput()).contains("checkpoint location \"gs://bucket/runs\" is not supported; expected s3://BUCKET/PREFIX, file://PATH or a local path");
    }

    @Test
    void anEmptyRunSaysSoOnStderr(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("checkpoints", "list", "--store", stored.toString(), "nothing-here");

        assertThat(result.exitCode()).isZero();
        assertThat(result.getOutput()).isEmpty();
        assertThat(result.getErrorOutput()).startsWith("No checkpoints for run nothing-here in ");
    }
}
