package dev.saeforge.cli;

import dev.saeforge.lm.ForwardBenchmark;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.store.Safetensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** The LM forward pass to a hook against 2 * parameters * tokens at the bare matrix-product rate. */
@Command(name = "lm",
        description = {"Time the Qwen3 forward pass to a hook (random ~100M-parameter",
                "model, CPU, float32) against its bound: 2 * (parameters of the",
                "products run) * tokens at the rate that bare matrix products of the",
                "same shapes reach in this process. The two are timed alternately;",
                "each figure is the best run; ratio = bound time / forward time."})
public class BenchLmCommand implements Callable<Integer> {
    @Mixin
    ModelShapeOptions shape = ModelShapeOptions.benchmark();

    @Option(names = "--hook", paramLabel = "HOOK", description = "Hook to run to (default: the last layer's hook_resid_post).")
    String hook;

    @Option(names = "--batch", paramLabel = "N", description = "Windows per forward pass (default ${DEFAULT-VALUE}).")
    int batch = ForwardBenchmark.Settings.defaults().batch();

    @Option(names = "--context-size", paramLabel = "N", description = "Tokens per window (default ${DEFAULT-VALUE}).")
    int contextSize = ForwardBenchmark.Settings.defaults().contextSize();

    @Option(names = "--repetitions", paramLabel = "N", description = "Timed runs of each, after one warm-up (default ${DEFAULT-VALUE}).")
    int repetitions = ForwardBenchmark.Settings.defaults().repetitions();

    @Option(names = "--threads", paramLabel = "N", description = "libtorch intra-op threads; 0 keeps its default, one per core (default ${DEFAULT-VALUE}).")
    int threads = 0;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "Print the figures as yaml or json.")
    OutputFormat output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        return CommandBody.execute(command, out -> {
            HookPoint point = hook != null ? HookPoint.parse(hook) : new HookPoint(shape.layers - 1, HookPoint.Site.RESID_POST);
            ForwardBenchmark.Settings settings = new ForwardBenchmark.Settings(shape.toOptions(Safetensors.Dtype.BF16, 1), point,
                    batch, contextSize, repetitions, threads);
            Path workDir = Files.createTempDirectory("saeforge-bench-lm");
            try {
                ForwardBenchmark.Result result = ForwardBenchmark.run(settings, workDir);
                if (output == null) {
                    printTable(out, result);
                } else {
                    Printing.printDocument(out, figures(result), output);
                }
            } finally {
                deleteQuietly(workDir);
            }
            return ExitCodes.OK;
        });
    }

    static Map<String, Object> figures(ForwardBenchmark.Result r) {
        ForwardBenchmark.Settings s = r.settings();
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("layers", s.model().layers());
        model.put("hidden", s.model().hidden());
        model.put("intermediate", s.model().intermediate());
        model.put("heads", s.model().heads());
        model.put("kv_heads", s.model().kvHeads());
        model.put("head_dim", s.model().headDim());
        model.put("vocab", s.model().vocab());
        model.put("tied", s.model().tied());
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("benchmark", "lm");
        figures.put("model", model);
        figures.put("parameters", r.parameters());
        figures.put("hook", s.hook().toString());
        figures.put("matmul_parameters", r.matmulParameters());
        figures.put("device", "cpu");
        figures.put("dtype", "float32");
        figures.put("threads", r.threads());
        figures.put("batch", s.batch());
        figures.put("context_size", s.contextSize());
        figures.put("tokens", r.tokens());
        figures.put("repetitions", s.repetitions());
        figures.put("forward_seconds", r.forwardSeconds());
        figures.put("forward_median_seconds", r.forwardMedianSeconds());
        figures.put("matmul_seconds", r.matmulSeconds());
        figures.put("matmul_median_seconds", r.matmulMedianSeconds());
        figures.put("matmul_gflops", r.matmulGflops());
        figures.put("tokens_per_second", r.tokensPerSecond());
        figures.put("bound_tokens_per_second", r.boundTokensPerSecond());
        figures.put("ratio", r.ratio());
        return figures;
    }

    private static void printTable(PrintWriter out, ForwardBenchmark.Result r) {
        ForwardBenchmark.Settings s = r.settings();
        out.printf("%-22s %s%n", "MODEL", String.format("Qwen3-shaped, %,d parameters (%d layers, hidden %d, intermediate %d, %d/%d heads x %d)",
                r.parameters(), s.model().layers(), s.model().hidden(), s.model().intermediate(), s.model().heads(), s.model().kvHeads(),
                s.model().headDim()));
        out.printf("%-22s %s (%,d parameters in its matrix products)%n", "HOOK", s.hook(), r.matmulParameters());
        out.printf("%-22s %d x %d = %d tokens, float32, cpu, %d threads, best of %d%n", "BATCH", s.batch(), s.contextSize(), r.tokens(),
                r.threads(), s.repetitions());
        out.printf("%-22s %.3f s (median %.3f s), %.1f tokens/s%n", "FORWARD", r.forwardSeconds(), r.forwardMedianSeconds(), r.tokensPerSecond());
        out.printf("%-22s %.3f s (median %.3f s), %.1f GFLOP/s, %.1f tokens/s%n", "BARE MATMUL BOUND", r.matmulSeconds(),
                r.matmulMedianSeconds(), r.matmulGflops(), r.boundTokensPerSecond());
        out.printf("%-22s %.3f%n", "RATIO", r.ratio());
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // a temporary directory left behind is harmless
        }
    }
}
