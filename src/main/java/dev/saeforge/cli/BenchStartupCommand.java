package dev.saeforge.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.lm.ForwardBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Start-up of the JVM application against the native executable, side by side: each command is
 * run by both in alternation, so that load from other processes hits both alike; each figure is
 * the best run, the median beside it. Peak memory is the child's maximum resident set, as GNU
 * time reports it from the kernel's accounting (wait4).
 */
@Command(name = "startup", description = {"Start-up time and peak memory of the JVM application and the native executable,",
        "side by side, for --help and validate. Exit code 69 when one of the two is missing."})
public class BenchStartupCommand implements Callable<Integer> {
    private static final Path GNU_TIME = Path.of("/usr/bin/time");

    @Option(names = "--native", paramLabel = "FILE",
            description = "The native executable (default: SAEFORGE_NATIVE, else target/saeforge-*-runner).")
    Path nativeExecutable;

    @Option(names = "--jar", paramLabel = "FILE", defaultValue = "target/quarkus-app/quarkus-run.jar",
            description = "The JVM application (default ${DEFAULT-VALUE}).")
    Path jar;

    @Option(names = "--java", paramLabel = "FILE", description = "The java launcher (default: this JVM's, else JAVA_HOME's).")
    Path java;

    @Option(names = "--java-args", paramLabel = "FILE", defaultValue = "src/main/launcher/java.args",
            description = "The JVM arguments the launcher passes (default ${DEFAULT-VALUE}).")
    Path javaArgs;

    @Option(names = "--spec", paramLabel = "FILE", defaultValue = "examples/toy-superposition.yaml",
            description = "The TrainingRun validate reads (default ${DEFAULT-VALUE}).")
    Path spec;

    @Option(names = "--runs", defaultValue = "10", description = "Runs of each command by each (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json for one JSON object.")
    JsonOutput output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    record Measured(double[] seconds, long[] peakKib) {
        double best() {
            return Arrays.stream(seconds).min().orElseThrow();
        }

        double median() {
            return ForwardBenchmark.median(seconds);
        }

        long peakMib() {
            return Arrays.stream(peakKib).max().orElse(-1) / 1024;
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        if (runs < 1) {
            err.println("--runs must be at least 1");
            return ExitCodes.INVALID_INPUT;
        }
        Path nativeBinary = nativeExecutable != null ? nativeExecutable : defaultNativeExecutable();
        Path javaLauncher = java != null ? java : defaultJava();
        List<String> missing = new ArrayList<>();
        if (nativeBinary == null || !Files.isExecutable(nativeBinary)) {
            missing.add("no native executable " + (nativeBinary == null ? "(none in target/, SAEFORGE_NATIVE unset)" : "at " + nativeBinary)
                    + "; build one with GRAALVM_HOME set: ./mvnw package -Pnative -DskipTests");
        }
        if (!Files.isRegularFile(jar)) {
            missing.add("no JVM application at " + jar + "; build it with ./mvnw package -DskipTests");
        }
        if (!Files.isRegularFile(javaArgs)) {
            missing.add("no JVM argument file at " + javaArgs + "; run it in the repository or pass --java-args");
        }
        if (javaLauncher == null || !Files.isExecutable(javaLauncher)) {
            missing.add("no java launcher " + (javaLauncher == null ? "(JAVA_HOME unset)" : "at " + javaLauncher) + "; pass --java");
        }
        if (!Files.isExecutable(GNU_TIME)) {
            missing.add("no GNU time at " + GNU_TIME + " to read peak memory; install the 'time' package");
        }
        if (!missing.isEmpty()) {
            missing.forEach(m -> err.println("bench startup: " + m));
            err.println("bench startup: nothing was measured: it compares both side by side");
            err.flush();
            return ExitCodes.UNAVAILABLE;
        }
        List<String> jvm = List.of(javaLauncher.toString(), "@" + javaArgs, "-jar", jar.toString());
        List<String> nat = List.of(nativeBinary.toString());
        Map<String, List<String>> commands = new LinkedHashMap<>();
        commands.put("--help", List.of("--help"));
        commands.put("validate", List.of("validate", spec.toString()));
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("native", nativeBinary.toString());
        result.put("jar", jar.toString());
        result.put("runs", runs);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Map.Entry<String, List<String>> c : commands.entrySet()) {
            Measured[] both = measure(List.of(concat(jvm, c.getValue()), concat(nat, c.getValue())));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("command", c.getKey());
            row.put("jvm_ms", 1e3 * both[0].best());
            row.put("jvm_median_ms", 1e3 * both[0].median());
            row.put("jvm_peak_rss_mib", both[0].peakMib());
            row.put("native_ms", 1e3 * both[1].best());
            row.put("native_median_ms", 1e3 * both[1].median());
            row.put("native_peak_rss_mib", both[1].peakMib());
            row.put("time_ratio", both[0].best() / both[1].best());
            row.put("memory_ratio", (double) both[0].peakMib() / Math.max(1, both[1].peakMib()));
            rows.add(row);
        }
        result.put("commands", rows);
        if (output == JsonOutput.json) {
            out.println(new ObjectMapper().writeValueAsString(result));
        } else {
            out.printf("%-9s %9s %9s %8s %12s %12s %8s%n", "COMMAND", "JVM", "NATIVE", "RATIO", "JVM-PEAK", "NATIVE-PEAK", "RATIO");
            for (Map<String, Object> row : rows) {
                out.printf("%-9s %7.0fms %7.1fms %7.1fx %9dMiB %9dMiB %7.1fx%n", row.get("command"), row.get("jvm_ms"), row.get("native_ms"),
                        row.get("time_ratio"), row.get("jvm_peak_rss_mib"), row.get("native_peak_rss_mib"), row.get("memory_ratio"));
            }
            out.printf("best of %d runs each, alternating (medians: %s); native: %s%n", runs,
                    rows.stream().map(r -> String.format("%s %.0f/%.1f ms", r.get("command"), r.get("jvm_median_ms"), r.get("native_median_ms")))
                            .toList(), nativeBinary);
        }
        out.flush();
        return ExitCodes.OK;
    }

    /** Runs the command lines in turn, {@code runs} rounds; a run that fails stops the benchmark. */
    private Measured[] measure(List<List<String>> lines) throws IOException, InterruptedException {
        Measured[] measured = new Measured[lines.size()];
        for (int i = 0; i < lines.size(); i++) {
            measured[i] = new Measured(new double[runs], new long[runs]);
        }
        for (int r = -1; r < runs; r++) {   // round -1 warms the page cache and is not counted
            for (int i = 0; i < lines.size(); i++) {
                Path report = Files.createTempFile("saeforge-startup", ".time");
                try {
                    List<String> timed = concat(List.of(GNU_TIME.toString(), "-f", "%M", "-o", report.toString()), lines.get(i));
                    long start = System.nanoTime();
                    Process process = new ProcessBuilder(timed).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                    if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
                        process.destroyForcibly();
                        throw new IOException(String.join(" ", lines.get(i)) + " did not finish with exit code 0");
                    }
                    double seconds = (System.nanoTime() - start) / 1e9;
                    if (r >= 0) {
                        measured[i].seconds()[r] = seconds;
                        measured[i].peakKib()[r] = Long.parseLong(Files.readString(report).strip());
                    }
                } finally {
                    Files.deleteIfExists(report);
                }
            }
        }
        return measured;
    }

    private static Path defaultNativeExecutable() throws IOException {
        String variable = System.getenv("SAEFORGE_NATIVE");
        if (variable != null && !variable.isBlank()) {
            return Path.of(variable);
        }
        if (!Files.isDirectory(Path.of("target"))) {
            return null;
        }
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(p -> p.getFileName().toString().matches("saeforge-.*-runner")).findFirst().orElse(null);
        }
    }

    private static Path defaultJava() {
        String home = System.getProperty("java.home");
        if (home != null && Files.isExecutable(Path.of(home, "bin", "java"))) {
            return Path.of(home, "bin", "java");
        }
        String javaHome = System.getenv("JAVA_HOME");
        return javaHome == null ? null : Path.of(javaHome, "bin", "java");
    }

    private static List<String> concat(List<String> first, List<String> rest) {
        List<String> all = new ArrayList<>(first);
        all.addAll(rest);
        return all;
    }
}
