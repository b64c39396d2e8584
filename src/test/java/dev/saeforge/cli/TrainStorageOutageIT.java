package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.S3MockServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A storage outage in the middle of a run is transient: the trainer retries its checkpoint for
 * spec.checkpoints.retryFor, then exits 75 (not 1), so that the Job starts a new attempt, which
 * resumes from the last complete checkpoint once the server is back.
 */
class TrainStorageOutageIT {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("checkpoints");

    /** TrainS3ResumeIT's run, with a retry budget of seconds so that the outage outlasts it quickly. */
    static final String RUN = TrainS3ResumeIT.RUN.replace("name: preemptible", "name: outage")
            .replace("uri: \"s3://checkpoints/STORE\"}", "uri: \"s3://checkpoints/runs\", retryFor: 2s}");

    @TempDir
    Path dir;

    @Test
    void aServerDownPastTheRetryBudgetExitsSeventyFiveAndTheNextAttemptResumes() throws Exception {
        Path spec = dir.resolve("outage.yaml");
        Files.writeString(spec, RUN);

        Path err = dir.resolve("first.err");
        Process first = train(spec, err);
        while (!Files.readString(err).contains("checkpoint s3://") && first.isAlive()) {
            Thread.sleep(20); // the first periodic checkpoint is complete; take the server away before the next
        }
        S3.kill();
        assertThat(first.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String firstErr = Files.readString(err);
        assertThat(first.exitValue()).as(firstErr).isEqualTo(ExitCodes.RESUME);
        assertThat(firstErr).contains("saeforge: training stopped by a transient failure", "giving up (retry budget SAEFORGE_S3_RETRY_FOR=2s)",
                "at " + S3.endpoint());

        S3.start();
        Process second = train(spec, dir.resolve("second.err"));
        assertThat(second.waitFor(300, TimeUnit.SECONDS)).isTrue();
        String secondErr = Files.readString(dir.resolve("second.err"));
        assertThat(second.exitValue()).as(secondErr).isEqualTo(ExitCodes.OK);
        assertThat(secondErr).contains("resuming from s3://checkpoints/runs/outage/");
        try (CheckpointStore store = CheckpointStore.open("s3://checkpoints/runs", S3.env())) {
            assertThat(store.latest("outage")).hasValueSatisfying(last -> assertThat(last.name()).isEqualTo("final_102400"));
        }
    }

    private Process train(Path spec, Path err) throws Exception {
        Files.writeString(err, "", StandardCharsets.UTF_8);
        ProcessBuilder builder = new ProcessBuilder("./saeforge", "train", spec.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("AWS_") || name.startsWith("SAEFORGE_S3_"));
        builder.environment().putAll(S3.env());
        return builder.start();
    }
}
