package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.S3MockServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * saeforge checkpoints against an S3 server, as a user runs it: the packaged application through
 * ./saeforge, with endpoint and credentials only in the environment.
 */
class CheckpointsS3IT {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("checkpoints");

    @TempDir
    static Path temp;

    record Run(int exitCode, String stdout, String stderr) {
    }

    @BeforeAll
    static void publishARun() throws IOException {
        publishToy(S3, temp.resolve("a"));
    }

    /** Publishes run toy, checkpoint 409600 (written into {@code dir} first), to s3://checkpoints/team/runs. */
    static void publishToy(S3MockServer s3, Path dir) throws IOException {
        try (CheckpointStore store = CheckpointStore.open("s3://checkpoints/team/runs", s3.env())) {
            store.publish("toy", "409600", CheckpointsCommandTest.checkpoint(dir, 409600),
                    Map.of("tokens", 409600, "step", 100, "metrics", Map.of("l0", 31.0)));
        }
    }

    @Test
    void listInspectAndPullReachTheBucketWithTheEnvironmentsCredentials() throws Exception {
        Run list = saeforge(S3.env(), "checkpoints", "list", "s3://checkpoints/team/runs/toy");
        assertThat(list.exitCode()).as(list.stderr()).isZero();
        assertThat(list.stdout()).startsWith("NAME").containsPattern("409600 +409600 +100 +1 +yes");

        Run inspect = saeforge(S3.env(), "checkpoints", "inspect", "--store", "s3://checkpoints/team/runs", "toy/409600");
        assertThat(inspect.exitCode()).as(inspect.stderr()).isZero();
        assertThat(inspect.stdout()).contains("URI:       s3://checkpoints/team/runs/toy/409600", "Complete:  yes",
                "metrics.l0: 31.0").containsPattern("W_dec +F32 +\\[16, 8]");

        Path into = temp.resolve("pulled");
        Run pull = saeforge(S3.env(), "checkpoints", "pull", "s3://checkpoints/team/runs/toy/409600", into.toString());
        assertThat(pull.exitCode()).as(pull.stderr()).isZero();
        assertThat(into.resolve("sae_weights.safetensors")).hasSameBinaryContentAs(temp.resolve("a/sae_weights.safetensors"));

        Path run = temp.resolve("pulled-run");
        Run pullRun = saeforge(S3.env(), "checkpoints", "pull", "s3://checkpoints/team/runs/toy", run.toString());
        assertThat(pullRun.exitCode()).as(pullRun.stderr()).isZero();
        assertThat(pullRun.stdout()).startsWith("Pulled s3://checkpoints/team/runs/toy/409600 into " + run);
    }

    @Test
    void oneSaeOfACheckpointOfSeveralIsListedInspectedAndPulledByItsUri() throws Exception {
        try (CheckpointStore store = CheckpointStore.open("s3://checkpoints/team/runs", S3.env())) {
            CheckpointsCommandTest.publishSeveral(store, temp.resolve("several"));
        }
        String checkpoint = "s3://checkpoints/team/runs/" + CheckpointsCommandTest.SEVERAL + "/409600";

        Run list = saeforge(S3.env(), "checkpoints", "list", checkpoint);
        assertThat(list.exitCode()).as(list.stderr()).isZero();
        assertThat(list.stdout()).startsWith("SAE").containsPattern("mlp28-c3 +blocks.28.hook_mlp_out +20.5")
                .containsPattern("resid20 +blocks.20.hook_resid_post +40.0");

        Run inspect = saeforge(S3.env(), "checkpoints", "inspect", checkpoint + "/resid20");
        assertThat(inspect.exitCode()).as(inspect.stderr()).isZero();
        assertThat(inspect.stdout()).contains("URI:       " + checkpoint + "/resid20", "SAE:       resid20", "Complete:  yes")
                .containsPattern("hook_name: +blocks.20.hook_resid_post");

        Path into = temp.resolve("pulled-resid20");
        Run pull = saeforge(S3.env(), "checkpoints", "pull", checkpoint + "/resid20", into.toString());
        assertThat(pull.exitCode()).as(pull.stderr()).isZero();
        assertThat(into.resolve("sae_weights.safetensors")).hasSameBinaryContentAs(temp.resolve("several/resid20/sae_weights.safetensors"));
        assertThat(into.resolve("manifest.json")).doesNotExist();
    }

    @Test
    void withoutCredentialsItSaysWhichVariablesToSet() throws Exception {
        Run run = saeforge(Map.of("AWS_ENDPOINT_URL", S3.endpoint()), "checkpoints", "list", "s3://checkpoints/team/runs/toy");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        // The address is resolved by looking into the bucket, so the first location looked at is the one named.
        assertThat(run.stderr()).startsWith("s3://checkpoints/team").contains(" needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }

    private static Run saeforge(Map<String, String> env, String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile(temp, "saeforge", ".out");
        Path err = Files.createTempFile(temp, "saeforge", ".err");
        List<String> command = new ArrayList<>(List.of("./saeforge"));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("AWS_"));
        builder.environment().putAll(env);
        Process process = builder.start();
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("saeforge finished").isTrue();
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
