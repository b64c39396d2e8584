package dev.saeforge.store;

import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.StatObjectArgs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The S3 backend against a real S3-protocol server (S3Mock as a child process): the contract,
 * multipart uploads, and a server killed in the middle of an upload.
 */
class S3CheckpointStoreTest extends CheckpointStoreContract {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("checkpoints");

    /** Parts of 5 MiB (the S3 minimum), so a 20 MiB file goes up in several. */
    static Map<String, String> env(String... more) {
        Map<String, String> env = new HashMap<>(S3.env());
        env.put("SAEFORGE_S3_PART_SIZE", "5Mi");
        env.put("SAEFORGE_S3_PARALLEL_PARTS", "3");
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    @BeforeEach
    void serverUp() throws Exception {
        if (!S3.isRunning()) {
            S3.start();
        }
    }

    @Override
    CheckpointStore openStore() throws IOException {
        return CheckpointStore.open("s3://" + S3.bucket() + "/saeforge/runs", env());
    }

    MinioClient directClient() {
        return MinioClient.builder().endpoint(S3.endpoint()).credentials("k", "s").region("us-east-1").build();
    }

    String key(String run, String name, String file) {
        return "saeforge/runs/" + run + "/" + name + "/" + file;
    }

    @Override
    void overwrite(String run, String name, String file, byte[] bytes) throws Exception {
        directClient().putObject(PutObjectArgs.builder().bucket(S3.bucket()).object(key(run, name, file))
                .stream(new ByteArrayInputStream(bytes), bytes.length, -1).build());
    }

    @Override
    void placeWithoutManifest(String run, String name, Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                overwrite(run, name, file.getFileName().toString(), Files.readAllBytes(file));
            }
        }
    }

    /** 256 x 10240 float32 weights: W_enc and W_dec make sae_weights.safetensors just over 20 MiB. */
    Path largeCheckpoint(long tokens) throws IOException {
        return SaeCheckpointDirs.write(temp.resolve("large-" + tokens), 256, 10240, tokens, tokens);
    }

    /** Twice as wide, 40 MiB in 8 parts: when the first part lands, most of the upload is still to come. */
    Path largerCheckpoint(long tokens) throws IOException {
        return SaeCheckpointDirs.write(temp.resolve("larger-" + tokens), 256, 20480, tokens, tokens);
    }

    @Test
    void aCheckpointOfOver20MiBRoundTripsThroughParallelMultipartUploads() throws Exception {
        Path local = largeCheckpoint(409600);
        long weightsBytes = Files.size(local.resolve("sae_weights.safetensors"));
        assertThat(weightsBytes).isGreaterThanOrEqualTo(20L << 20);

        CheckpointRef ref = store.publish(run, "409600", local, Map.of("tokens", 409600L, "step", 100L));
        Path pulled = store.pull(run, "409600", temp.resolve("pulled"));

        String etag = directClient().statObject(StatObjectArgs.builder().bucket(S3.bucket())
                .object(key(run, "409600", "sae_weights.safetensors")).build()).etag();
        assertThat(etag).as("an S3 multipart ETag ends in -<parts>").endsWith("-" + ((weightsBytes + (5 << 20) - 1) / (5 << 20)));
        assertThat(ref.bytes()).isGreaterThan(20L << 20);
        assertThat(local).exists(); // an object store copies; the local directory is the caller's
        try (Stream<Path> files = Files.list(local)) {
            for (Path file : files.toList()) {
                assertThat(pulled.resolve(file.getFileName())).as(file.getFileName().toString()).hasSameBinaryContentAs(file);
            }
        }
        assertThat(store.verify(run, "409600")).isEmpty();
    }

    @Test
    void aServerKilledMidUploadLeavesNoCompleteCheckpointAndARetryAfterTheRestartSucceeds() throws Exception {
        CheckpointRef previous = publish("204800", 204800);
        Path local = largerCheckpoint(409600);
        try (CheckpointStore impatient = CheckpointStore.open(store.uri(), env("AWS_MAX_ATTEMPTS", "2"))) {
            CompletableFuture<CheckpointRef> upload = CompletableFuture.supplyAsync(() -> publishUnchecked(impatient, local));
            awaitFirstUploadedPart();
            S3.kill();

            assertThatThrownBy(() -> upload.get(2, TimeUnit.MINUTES))
                    .isInstanceOf(ExecutionException.class).cause()
                    .hasMessageContaining("failed 2 times").hasMessageContaining("AWS_MAX_ATTEMPTS=2")
                    .hasMessageContaining("s3://checkpoints/saeforge/runs/" + run + "/409600/");
        }

        S3.restart();
        assertThat(store.list(run)).filteredOn(CheckpointRef::complete).extracting(CheckpointRef::name).containsExactly("204800");
        assertThat(store.latest(run)).contains(previous);

        CheckpointRef retried = store.publish(run, "409600", local, Map.of("tokens", 409600L, "step", 100L));

        assertThat(store.latest(run)).contains(retried);
        assertThat(store.pull(run, "409600", temp.resolve("pulled")).resolve("sae_weights.safetensors"))
                .hasSameBinaryContentAs(local.resolve("sae_weights.safetensors"));
    }

    @Test
    void aCheckpointRidesOutAServerDownForLongerThanEightTriesWithinItsTimeBudget() throws Exception {
        Path local = largerCheckpoint(409600);
        // A training run's budget is minutes of retrying (spec.checkpoints.retryFor), not a count of tries.
        try (CheckpointStore patient = CheckpointStore.open(store.uri(), env("SAEFORGE_S3_RETRY_FOR", "4m"));
             LogCapture retries = new LogCapture(Retry.class)) {
            CompletableFuture<CheckpointRef> upload = CompletableFuture.supplyAsync(() -> publishUnchecked(patient, local));
            awaitFirstUploadedPart();
            S3.kill();
            // The server stays down until a request has failed 8 times, where a budget of 8 tries gave up.
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50)).until(() -> retries.warnings().stream()
                    .anyMatch(w -> w.contains(run + "/409600/") && w.contains("; retry 8 in ")));
            assertThat(upload).as("still retrying").isNotDone();
            S3.start();

            CheckpointRef ref = upload.get(3, TimeUnit.MINUTES);

            assertThat(ref.complete()).isTrue();
            assertThat(store.latest(run)).contains(ref);
            assertThat(store.pull(run, "409600", temp.resolve("pulled")).resolve("sae_weights.safetensors"))
                    .hasSameBinaryContentAs(local.resolve("sae_weights.safetensors"));
        }
    }

    @Test
    void anUnreachableServerFailsClearlyAfterTheRetryBudget() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        try (CheckpointStore nowhere = CheckpointStore.open("s3://checkpoints/runs",
                env("AWS_ENDPOINT_URL", "http://127.0.0.1:" + closedPort, "AWS_MAX_ATTEMPTS", "3"))) {
            assertThatThrownBy(() -> nowhere.list("r"))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("list s3://checkpoints/runs/r failed 3 times in ")
                    .hasMessageContaining("giving up (retry budget AWS_MAX_ATTEMPTS=3); last error: Failed to connect to /127.0.0.1:" + closedPort);
        }
    }

    @Test
    void aMissingBucketIsNotRetriedAndNamesTheBucket() throws IOException {
        try (CheckpointStore wrong = CheckpointStore.open("s3://no-such-bucket/runs", env())) {
            assertThatThrownBy(() -> wrong.list("r"))
                    .isInstanceOf(IOException.class)
                    .hasMessage("list s3://no-such-bucket/runs/r: NoSuchBucket: The specified bucket does not exist. (HTTP 404)");
        }
    }

    private CheckpointRef publishUnchecked(CheckpointStore target, Path local) {
        try {
            return target.publish(run, "409600", local, Map.of("tokens", 409600L, "step", 100L));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Waits until the server holds a part of a multipart upload: the upload is under way, not done. */
    private void awaitFirstUploadedPart() {
        await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(2)).until(() -> {
            try (Stream<Path> files = Files.walk(S3.root().resolve(S3.bucket()).resolve("multiparts"))) {
                return files.anyMatch(p -> p.getFileName().toString().endsWith(".part"));
            } catch (IOException e) {
                return false; // no multipart upload yet
            }
        });
    }

    @Test
    void aReportsPageIsStoredAsHtmlForABrowserReadingItThroughTheEndpoint() throws Exception {
        publish("final_409600", 409600);

        store.putReport(run, "final_409600", reportDir("first", true));

        MinioClient direct = directClient();
        assertThat(direct.statObject(StatObjectArgs.builder().bucket(S3.bucket()).object(key(run, "final_409600", "report/index.html")).build())
                .contentType()).startsWith("text/html");
        assertThat(direct.statObject(StatObjectArgs.builder().bucket(S3.bucket()).object(key(run, "final_409600", "report/report.json")).build())
                .contentType()).isEqualTo("application/json");
    }
}
