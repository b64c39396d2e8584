package dev.saeforge.cli;

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
 * The native executable the build just produced (the failsafe execution of the native profile
 * names it in {@code saeforge.native.binary}), run as a user runs it: a fresh process, the
 * environment only as given, stdout and stderr captured apart. libtorch and the tokenizers
 * library come from the directories the build unpacked them into, as in the container image.
 */
public final class NativeBinary {
    public record Run(int exitCode, String stdout, String stderr) {
        public List<String> lines() {
            return stdout.lines().toList();
        }
    }

    private NativeBinary() {
    }

    public static Path path() {
        String binary = System.getProperty("saeforge.native.binary");
        assertThat(binary).as("system property saeforge.native.binary (set by the native profile)").isNotBlank();
        Path path = Path.of(binary);
        assertThat(path).as("the native executable").isExecutable();
        return path;
    }

    /**
     * What the trainer needs to find the shared libraries the binary does not carry, as the image
     * sets it. RUST_LIBRARY_PATH names the library file: DJL 0.36 fails on a directory there when
     * it sees no GPU (it asks the platform's CUDA architecture, which is then unset).
     */
    public static Map<String, String> libraryEnvironment() {
        return Map.of(
                "PYTORCH_LIBRARY_PATH", System.getProperty("saeforge.native.libtorch"),
                "PYTORCH_FLAVOR", "cpu",
                "RUST_LIBRARY_PATH", Path.of(System.getProperty("saeforge.native.tokenizers"), "libtokenizers.so").toString());
    }

    public static Run run(String... args) throws IOException, InterruptedException {
        return run(Map.of(), null, args);
    }

    /** Runs the binary in {@code directory} (the project's when null) with {@code env} added to a clean environment. */
    public static Run run(Map<String, String> env, Path directory, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(path().toAbsolutePath().toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile("saeforge-native", ".out");
        Path err = Files.createTempFile("saeforge-native", ".err");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
            if (directory != null) {
                builder.directory(directory.toFile());
            }
            // Nothing from the test JVM's environment leaks in: no kubeconfig, no S3 credentials, no JAVA_HOME.
            Map<String, String> environment = builder.environment();
            environment.keySet().removeIf(name -> !name.equals("PATH") && !name.equals("TMPDIR") && !name.equals("LANG"));
            Path home = Files.createTempDirectory("saeforge-home");
            environment.put("HOME", home.toString());
            // DJL's cache too: the native executable takes user.home from the password file, not from HOME.
            environment.put("DJL_CACHE_DIR", home.resolve(".djl.ai").toString());
            environment.put("ENGINE_CACHE_DIR", home.resolve(".djl.ai").toString());
            environment.put("OPT_OUT_TRACKING", "true");
            environment.put("DJL_OFFLINE", "true");
            environment.putAll(env);
            Process process = builder.start();
            assertThat(process.waitFor(300, TimeUnit.SECONDS)).as("saeforge " + String.join(" ", args) + " finished").isTrue();
            return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
