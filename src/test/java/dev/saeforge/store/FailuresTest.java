package dev.saeforge.store;

import dev.saeforge.api.InvalidSpecException;
import io.minio.errors.ServerException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assumptions.assumeThat;

/** What ends a training run for good (exit 1) and what only for this attempt (exit 75, resume). */
class FailuresTest {

    @Test
    void storageThatCannotBeReachedOrFailsOrThrottlesIsTransientWhereverItSitsInTheCauseChain() {
        assertThat(List.of(
                new IOException("PUT s3://ckpt/runs/r/409600/sae_weights.safetensors", new ConnectException("Connection refused")),
                new UncheckedIOException(new IOException("list s3://ckpt/runs/r", new UnknownHostException("minio.minio"))),
                new RuntimeException(new SocketTimeoutException("timeout")),
                new IOException("upload part 3 of 9", new ServerException("Service Unavailable", 503, "trace")),
                new IOException("PUT", new ServerException("Slow Down", 429, "trace")),
                new TransientIOException("list s3://ckpt/runs/r failed 40 times in 599.8 s, giving up")))
                .allSatisfy(e -> assertThat(Failures.isTransient(e)).as(e.toString()).isTrue());
    }

    @Test
    void aFullDiskIsTransient() throws IOException {
        FileSystemException staging = new FileSystemException("/tmp/saeforge-r-409600-1/sae_weights.safetensors", null,
                "No space left on device");
        assertThat(Failures.isTransient(new UncheckedIOException(staging))).isTrue();
        assertThat(Failures.isTransient(new IOException("Disk quota exceeded"))).isTrue();
        assertThat(Failures.isRetryable(staging)).as("not worth repeating one request at once").isFalse();
    }

    @Test
    void aRealEnospcFromTheKernelIsTransient() {
        Path full = Path.of("/dev/full"); // every write fails with ENOSPC
        assumeThat(Files.isWritable(full)).as("/dev/full exists (Linux)").isTrue();

        Throwable failure = catchThrowable(() -> Files.write(full, new byte[4096]));

        assertThat(failure).isInstanceOf(IOException.class);
        assertThat(Failures.isTransient(failure)).as(failure.toString()).isTrue();
    }

    @Test
    void bugsBadDataAndRefusalsAreNotTransient() {
        assertThat(List.of(
                new IllegalStateException("sae has no W_enc"),
                new NullPointerException(),
                new CorruptCheckpointException("s3://ckpt/runs/r/409600/sae_weights.safetensors: sha256 differs"),
                new IOException("checkpoint s3://ckpt/runs/r/409600 is already published with different files"),
                new AccessDeniedException("/data/runs"),
                new NoSuchFileException("/data/shard-0001.jsonl"),
                new InvalidSpecException("run.yaml", List.of()),
                new UncheckedIOException(new IOException("malformed row 12 of data.jsonl"))))
                .allSatisfy(e -> assertThat(Failures.isTransient(e)).as(e.toString()).isFalse());
    }
}
