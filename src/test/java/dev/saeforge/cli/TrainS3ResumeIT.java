package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.S3MockServer;
import dev.saeforge.store.SaeCheckpointDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Preemption with checkpoints in an S3-protocol store (S3Mock, a real server): a run killed by
 * SIGTERM mid-way and resumed by a new process ends with the weights of a run never interrupted.
 */
class TrainS3ResumeIT {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("checkpoints");

    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: preemptible}
            spec:
              synthetic: {features: 16, dIn: 8}
              sae: {dSae: 24, l0Coefficient: 0.03}
              training: {tokens: 102400, batchSizeTokens: 256, lr: 3.0e-3, lrDecaySteps: 80}
              checkpoints: {count: 2, uri: "s3://checkpoints/STORE"}
            """;

    @TempDir
    Path dir;

    @Test
    void aRunPreemptedBySigtermResumesFromS3AndEndsWithTheUninterruptedWeights() throws Exception {
        Path straight = spec("straight");
        Path preempted = spec("preempted");
        assertThat(train(straight).waitFor(300, TimeUnit.SECONDS)).isTrue();

        Path err = dir.resolve("preempted.err");
        Process first = train(preempted, err);
        while (!Files.readString(err).contains("checkpoint s3://") && first.isAlive()) {
            Thread.sleep(20);   // preempt after the first periodic checkpoint, mid-way
        }
        first.destroy();
        assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(first.exitValue()).as(Files.readString(err)).isEqualTo(ExitCodes.RESUME);

        Process second = train(preempted, dir.resolve("resumed.err"));
        assertThat(second.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(second.exitValue()).as(Files.readString(dir.resolve("resumed.err"))).isEqualTo(ExitCodes.OK);
        assertThat(Files.readString(dir.resolve("resumed.err"))).contains("resuming from s3://checkpoints/preempted/preemptible/");

        SaeCheckpointDirs.assertSameWeights(pull("straight"), pull("preempted"));
    }

    private Path pull(String prefix) throws Exception {
        try (CheckpointStore store = CheckpointStore.open("s3://checkpoints/" + prefix, S3.env())) {
            CheckpointRef last = store.latest("preemptible").orElseThrow();
            assertThat(last.name()).isEqualTo("final_102400");
            return store.pull("preemptible", last.name(), Files.createDirectories(dir.resolve("pulled-" + prefix)));
        }
    }

    private Path spec(String prefix) throws Exception {
        Path file = dir.resolve(prefix + ".yaml");
        Files.writeString(file, RUN.replace("STORE", prefix));
        return file;
    }

    private Process train(Path spec) throws Exception {
        return train(spec, dir.resolve(spec.getFileName() + ".err"));
    }

    private Process train(Path spec, Path err) throws Exception {
        Files.writeString(err, "", StandardCharsets.UTF_8);
        ProcessBuilder builder = new ProcessBuilder("./saeforge", "train", spec.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("AWS_"));
        builder.environment().putAll(S3.env());
        return builder.start();
    }
}
