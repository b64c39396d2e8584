package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** ./saeforge, the launcher script, against the application the build just packaged. */
class LauncherIT {
    record Run(int exitCode, String stdout, String stderr) {
    }

    @Test
    void runsThePackagedApplicationWithoutRebuildingIt() throws Exception {
        Run run = launch("--version");

        assertThat(run.exitCode()).isZero();
        assertThat(run.stdout()).startsWith("saeforge ");
        assertThat(run.stderr()).as("the build is fresh, so nothing is rebuilt").doesNotContain("building");
    }

    @Test
    void exitCodesPassThrough() throws Exception {
        assertThat(launch("validate", "examples/toy-superposition.yaml").exitCode()).isEqualTo(ExitCodes.OK);

        Run invalid = launch("validate", "src/test/resources/invalid-specs/bad-hook.yaml");
        assertThat(invalid.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(invalid.stderr()).contains("spec.hook: \"blocks.x.hook_mlp_out\" is not a hook name");
    }

    @Test
    void theScriptReplacesItselfWithTheJvm() throws Exception {
        // exec, not a child: signals sent to the launcher's pid reach the JVM.
        Process process = new ProcessBuilder("./saeforge", "validate", "examples/toy-superposition.yaml").start();
        try {
            String command = "";
            for (int i = 0; i < 100 && !command.endsWith("/java"); i++) {
                command = process.info().command().orElse("");
                Thread.sleep(20);
            }
            assertThat(command).endsWith("/java");
        } finally {
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void asAKubectlPluginItNamesItselfTheWayKubectlUsersTypeIt() throws Exception {
        // kubectl finds plugins as kubectl-<name> on PATH; a link to the launcher is one.
        Path bin = Files.createTempDirectory("plugins");
        Path plugin = Files.createSymbolicLink(bin.resolve("kubectl-saeforge"), Path.of("saeforge").toAbsolutePath());

        Run help = launchAs(plugin.toString(), "get", "--help");
        Run invalid = launchAs(plugin.toString(), "submit", "src/test/resources/invalid-specs/bad-hook.yaml");

        assertThat(help.exitCode()).isZero();
        assertThat(help.stdout()).startsWith("Usage: kubectl saeforge get");
        assertThat(invalid.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
        assertThat(invalid.stderr()).contains("spec.hook:");
    }

    /**
     * The README's test command works as typed on a machine whose default java is 17: the launcher
     * finds a JDK of 21 or newer and runs the Maven wrapper's verify with it (here --version, which
     * prints the JDK Maven runs on and stops).
     */
    @Test
    void theTestCommandRunsTheMavenWrapperOnAJdkOf21OrNewerWhateverJavaHomeSays() throws Exception {
        Path java17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        ProcessBuilder builder = new ProcessBuilder("./saeforge", "test", "--version");
        if (Files.isDirectory(java17)) {
            builder.environment().put("JAVA_HOME", java17.toString());
            builder.environment().put("PATH", java17.resolve("bin") + ":" + System.getenv("PATH"));
        }
        Path out = Files.createTempFile("launcher", ".out");
        Process process = builder.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("saeforge test finished").isTrue();
        String output = Files.readString(out, StandardCharsets.UTF_8);

        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("Apache Maven");
        java.util.regex.Matcher version = java.util.regex.Pattern.compile("Java version: (\\d+)").matcher(output);
        assertThat(version.find()).as(output).isTrue();
        assertThat(Integer.parseInt(version.group(1))).isGreaterThanOrEqualTo(21);
    }

    private static Run launch(String... args) throws IOException, InterruptedException {
        return launchAs("./saeforge", args);
    }

    private static Run launchAs(String launcher, String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile("launcher", ".out");
        Path err = Files.createTempFile("launcher", ".err");
        Process process = new ProcessBuilder(concat(launcher, args))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("saeforge finished").isTrue();
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private static List<String> concat(String first, String... rest) {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(first), java.util.Arrays.stream(rest)).toList();
    }
}
