package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.store.S3MockServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The native executable against a real S3-protocol server (S3Mock): the MinIO SDK, its XML
 * messages (bound by reflection) and OkHttp in the native image, credentials from the environment.
 */
class NativeCheckpointsIT {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("checkpoints");

    @TempDir
    static Path temp;

    @BeforeAll
    static void publishARun() throws IOException {
        CheckpointsS3IT.publishToy(S3, temp.resolve("a"));
    }

    @Test
    void listInspectAndPullReadTheBucket() throws Exception {
        NativeBinary.Run list = NativeBinary.run(S3.env(), null, "checkpoints", "list", "s3://checkpoints/team/runs/toy");
        assertThat(list.exitCode()).as(list.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(list.stdout()).startsWith("NAME").containsPattern("409600 +409600 +100 +1 +yes");

        NativeBinary.Run inspect = NativeBinary.run(S3.env(), null, "checkpoints", "inspect", "--store", "s3://checkpoints/team/runs", "toy/409600");
        assertThat(inspect.exitCode()).as(inspect.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(inspect.stdout()).contains("Complete:  yes", "metrics.l0: 31.0").containsPattern("W_dec +F32 +\\[16, 8]");

        Path into = temp.resolve("pulled");
        NativeBinary.Run pull = NativeBinary.run(S3.env(), null, "checkpoints", "pull", "s3://checkpoints/team/runs/toy/409600", into.toString());
        assertThat(pull.exitCode()).as(pull.stderr()).isEqualTo(ExitCodes.OK);
        assertThat(into.resolve("sae_weights.safetensors")).hasSameBinaryContentAs(temp.resolve("a/sae_weights.safetensors"));
    }

    @Test
    void missingCredentialsAreNamed() throws Exception {
        NativeBinary.Run none = NativeBinary.run(Map.of("AWS_ENDPOINT_URL", S3.endpoint()), null,
                "checkpoints", "list", "s3://checkpoints/team/runs/toy");

        assertThat(none.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(none.stderr()).startsWith("s3://checkpoints/team").contains(" needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
}
