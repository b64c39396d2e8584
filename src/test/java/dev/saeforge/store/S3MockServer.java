package dev.saeforge.store;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real S3-protocol server for tests: Adobe S3Mock 5.2.0 (the exec jar Maven copies to
 * target/s3mock/) as a child process on free ports, with one bucket. Its data lives in a directory
 * that survives {@link #kill()}, so {@link #restart()} brings back the same objects and
 * multipart uploads, as a restarted MinIO would. Register with
 * {@code @RegisterExtension static final S3MockServer S3 = new S3MockServer("bucket");}.
 */
public final class S3MockServer implements BeforeAllCallback, AfterAllCallback {
    static final Path JAR = Path.of("target/s3mock/s3mock-exec.jar");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final String bucket;
    /** Holds the server's data, its temporary files and its log; removed after the tests. */
    private Path base;
    private Path root;
    private Path log;
    private int httpPort;
    private int httpsPort;
    private volatile Process process;
    private Thread shutdownHook;

    public S3MockServer(String bucket) {
        this.bucket = bucket;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing; run ./mvnw generate-test-resources (Maven copies S3Mock there)");
        }
        base = Files.createTempDirectory("s3mock");
        root = Files.createDirectory(base.resolve("data"));
        log = base.resolve("s3mock.log");
        Files.createDirectory(base.resolve("tmp"));
        httpPort = freePort();
        do {
            httpsPort = freePort();
        } while (httpsPort == httpPort);
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        stop();
        if (shutdownHook != null) {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        }
        deleteTree(base);
    }

    public String bucket() {
        return bucket;
    }

    public String endpoint() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** The environment a store needs to reach this server, as a job would get it. */
    public Map<String, String> env() {
        return Map.of("AWS_ENDPOINT_URL", endpoint(), "AWS_ACCESS_KEY_ID", "test-key", "AWS_SECRET_ACCESS_KEY", "test-secret",
                "AWS_REGION", "us-east-1");
    }

    /** The server's data directory (buckets, objects, multipart parts). */
    public Path root() {
        return root;
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Starts the server and waits until it answers. */
    public void start() throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m", "-Djava.io.tmpdir=" + base.resolve("tmp"), "-jar", JAR.toString(),
                "--http.port=" + httpPort, "--server.port=" + httpsPort, // server.port is S3Mock's HTTPS port
                "--com.adobe.testing.s3mock.store.root=" + root,
                "--com.adobe.testing.s3mock.store.initial-buckets=" + bucket,
                "--com.adobe.testing.s3mock.store.retain-files-on-exit=true")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        process = builder.start();
        if (shutdownHook == null) {
            // A test JVM that is stopped early must not leave the server running.
            shutdownHook = new Thread(() -> {
                if (process != null) {
                    process.destroyForcibly();
                }
            });
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("S3Mock exited with " + process.exitValue() + " while starting:\n" + logTail());
            }
            try {
                HttpResponse<Void> response = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/")).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (response.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(100);
        }
        stop();
        throw new IllegalStateException("S3Mock did not answer on " + endpoint() + " within " + START_TIMEOUT + ":\n" + logTail());
    }

    /** Kills the server at once (SIGKILL), as a crashed node would; its data directory stays. */
    public void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor();
        }
    }

    /** Kills the server if it runs, then starts it again on the same ports and data. */
    public void restart() throws IOException, InterruptedException {
        kill();
        start();
    }

    /** Stops the server gracefully. */
    public void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
