package dev.saeforge.lm;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Adobe S3Mock (a real S3-protocol server) as a child process, from the jar Maven copies to
 * target/s3mock (reference/java-stack.md §4).
 */
final class S3MockProcess implements AutoCloseable {
    static final Path JAR = Path.of("target/s3mock/s3mock-exec.jar");

    private final Process process;
    private final int port;

    private S3MockProcess(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    static S3MockProcess start(Path storeRoot, String bucket) throws IOException, InterruptedException {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run the build through Maven (generate-test-resources copies it)");
        }
        int port = freePort();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(List.of(java.toString(), "-Xmx384m", "-jar", JAR.toString(),
                "--http.port=" + port, "--server.port=" + freePort(),
                "--com.adobe.testing.s3mock.store.root=" + storeRoot,
                "--com.adobe.testing.s3mock.store.initial-buckets=" + bucket,
                "--com.adobe.testing.s3mock.store.retain-files-on-exit=false"))
                .redirectErrorStream(true)
                .redirectOutput(storeRoot.resolveSibling("s3mock.log").toFile())
                .start();
        S3MockProcess s3 = new S3MockProcess(process, port);
        Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("S3Mock exited with " + process.exitValue() + "; see " + storeRoot.resolveSibling("s3mock.log"));
            }
            try {
                HttpURLConnection connection = (HttpURLConnection) URI.create(s3.endpoint() + "/").toURL().openConnection();
                if (connection.getResponseCode() == 200) {
                    return s3;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        s3.close();
        throw new IllegalStateException("S3Mock did not answer within 90 s");
    }

    String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        process.waitFor();
    }
}
