package dev.saeforge.cli;

import dev.saeforge.store.Directories;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.lm.ForwardBenchmark;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.store.Safetensors;
import dev.saeforge.tensor.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** The LM forward pass to a hook against 2 * parameters * tokens at the bare matrix-product rate. */
@Command(name = "lm",
        description = {"Time the Qwen3 forward pass to a hook (random ~100M-parameter",
                "model, CPU) in float32 and in bfloat16 against its bound: 2 *",
                "(parameters of the products run) * tokens at the rate that bare",
                "matrix products of the same shapes and precision reach in this",
                "process. All are timed alternately; each figure is the best run;",
                "ratio = bound time / forward time (float32; bfloat16 beside it)."})
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

    @Option(names = "--memory", description = "Also report the peak resident memory of one forward pass above what the process held before it (the weights).")
    boolean memory;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "Print the figures as yaml or json.")
    OutputFormat output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        return CommandBody.execute(command, out -> {
            HookPoint point = hook != null ? HookPoint.parse(hook) : new HookPoint(shape.layers - 1, HookPoint.Site.RESID_POST);
            ForwardBenchmark.Settings settings = new ForwardBenchmark.Settings(shape.toOptions(Safetensors.Dtype.BF16, 1), point,
                    batch, contextSize, repetitions, threads, memory);
            Path workDir = Files.createTempDirectory("saeforge-bench-lm");
            try {
                ForwardBenchmark.Result result = ForwardBenchmark.run(settings, workDir);
                if (output == null) {
                    printTable(out, result);
                } else {
                    Printing.printDocument(out, figures(result), output);
                }
            } finally {
                Directories.deleteQuietly(workDir);
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
        figures.put("threads", r.threads());
        figures.put("batch", s.batch());
        figures.put("context_size", s.contextSize());
        figures.put("tokens", r.tokens());
        figures.put("repetitions", s.repetitions());
        figures.putAll(timings(r.of(Precision.FLOAT32)));
        figures.put("bfloat16", timings(r.of(Precision.BFLOAT16)));
        return figures;
    }

    /** One precision's figures, as bench lm and bench gpu print them. */
    static Map<String, Object> timings(ForwardBenchmark.Figures f) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("dtype", f.precision().toString());
        out.put("forward_seconds", f.forwardSeconds());
        out.put("forward_median_seconds", f.forwardMedianSeconds());
        out.put("matmul_seconds", f.matmulSeconds());
        out.put("matmul_median_seconds", f.matmulMedianSeconds());
        out.put("matmul_gflops", f.matmulGflops());
        out.put("tokens_per_second", f.tokensPerSecond());
        out.put("bound_tokens_per_second", f.boundTokensPerSecond());
        out.put("ratio", f.ratio());
        if (f.peakAboveWeightsBytes() != null) {
            out.put("peak_mib_above_weights", f.peakAboveWeightsBytes() / (double) (1 << 20));
        }
        return out;
    }

    private static void printTable(PrintWriter out, ForwardBenchmark.Result r) {
        ForwardBenchmark.Settings s = r.settings();
        out.printf("%-22s %s%n", "MODEL", String.format("Qwen3-shaped, %,d parameters (%d layers, hidden %d, intermediate %d, %d/%d heads x %d)",
                r.parameters(), s.model().layers(), s.model().hidden(), s.model().intermediate(), s.model().heads(), s.model().kvHeads(),
                s.model().headDim()));
        out.printf("%-22s %s (%,d parameters in its matrix products)%n", "HOOK", s.hook(), r.matmulParameters());
        out.printf("%-22s %d x %d = %d tokens, cpu, %d threads, best of %d%n", "BATCH", s.batch(), s.contextSize(), r.tokens(),
                r.threads(), s.repetitions());
        for (ForwardBenchmark.Figures f : r.figures()) {
            out.printf("%s%n", f.precision());
            out.printf("  %-20s %.3f s (median %.3f s), %.1f tokens/s%n", "FORWARD", f.forwardSeconds(), f.forwardMedianSeconds(),
                    f.tokensPerSecond());
            out.printf("  %-20s %.3f s (median %.3f s), %.1f GFLOP/s, %.1f tokens/s%n", "BARE MATMUL BOUND", f.matmulSeconds(),
                    f.matmulMedianSeconds(), f.matmulGflops(), f.boundTokensPerSecond());
            out.printf("  %-20s %.3f%n", "RATIO", f.ratio());
            if (f.peakAboveWeightsBytes() != null) {
                out.printf("  %-20s %.1f MiB above the weights%n", "PEAK RESIDENT", f.peakAboveWeightsBytes() / (double) (1 << 20));
            }
        }
    }
}
