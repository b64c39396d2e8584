package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.InvalidSpecException;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.data.ThreadSettings;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.store.Directories;
import dev.saeforge.train.PipelineBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** The training pipeline end to end against the LM alone and the SAE alone, measured side by side. */
@Command(name = "train",
        description = {"Time training end to end (the producer running the LM while this thread",
                "trains --saes SAEs on one hook, at l0Coefficients 1, 2, 4... times the run's)",
                "against the LM alone and one SAE alone, each alone in its fastest way, in",
                "alternating rounds of one process; each figure is the best round, medians",
                "beside. ratio = end-to-end tokens/s / (1 / (1/lm + saes/sae)), the best a",
                "serial loop could do; speed-up = saes x end-to-end / end-to-end with one SAE,",
                "over separate runs. --from-cache: training from an activation cache (built",
                "first in a temporary directory, timed apart) against the live stream, with",
                "the cache's bytes per token. Default run: the tiny example."})
public class BenchTrainCommand implements Callable<Integer> {
    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "A TrainingRun on a language model (default: the tiny example).")
    Path file;

    @Option(names = "--saes", paramLabel = "N", description = "SAEs trained from the one stream (default ${DEFAULT-VALUE}).")
    int saes = 1;

    @Option(names = "--sae-steps", paramLabel = "N", description = "Steps of different SAEs run at once in the pipeline (default: one per core on a CPU, 1 on a GPU; SAEFORGE_SAE_STEPS).")
    Integer saeSteps;

    @Option(names = "--steps", paramLabel = "N", description = "Stream batches per round (default ${DEFAULT-VALUE}).")
    int steps = 200;

    @Option(names = "--rounds", paramLabel = "N", description = "Timed rounds of each, after one warm-up (default ${DEFAULT-VALUE}).")
    int rounds = 5;

    @Option(names = "--lm-forwards", paramLabel = "N", description = "Forward passes the pipeline runs at once (default: 1, SAEFORGE_LM_FORWARDS).")
    Integer lmForwards;

    @Option(names = "--lm-threads", paramLabel = "N", description = "libtorch threads of each forward pass in the pipeline (default: half the cores, SAEFORGE_LM_THREADS).")
    Integer lmThreads;

    @Option(names = "--sae-threads", paramLabel = "N", description = "libtorch threads of the SAE step in the pipeline (default: the other cores, SAEFORGE_SAE_THREADS).")
    Integer saeThreads;

    @Option(names = "--from-cache", description = "Time training from an activation cache of the run's hook (in spec.activations.cache.dtype,"
            + " default the model's) against training from the live stream, in alternating rounds.")
    boolean fromCache;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "Print the figures as yaml or json.")
    OutputFormat output;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec command;

    @Override
    public Integer call() {
        TrainingRun run;
        try {
            run = (file != null ? TrainingRuns.read(file) : TrainingRuns.parse(ExampleCommand.read("tiny-qwen3.yaml"), "examples/tiny-qwen3.yaml")).get(0);
        } catch (InvalidSpecException e) {
            Printing.problems(command.commandLine().getErr(), e);
            command.commandLine().getErr().flush();
            return ExitCodes.INVALID_INPUT;
        } catch (java.io.IOException e) {
            command.commandLine().getErr().println(e.getMessage());
            command.commandLine().getErr().flush();
            return ExitCodes.INVALID_INPUT;
        }
        return CommandBody.execute(command, out -> {
            if (run.getSpec().synthetic != null) {
                throw new IllegalArgumentException((file != null ? file : "the run") + " trains on synthetic activations; bench train needs a language model");
            }
            ThreadSettings defaults = ThreadSettings.fromEnvironment(
                    dev.saeforge.tensor.Torch.device(run.getSpec().training.device != dev.saeforge.api.TrainingSpec.Device.CPU).isGpu());
            ThreadSettings threads = new ThreadSettings(
                    lmForwards != null ? lmForwards : defaults.forwards(), lmThreads != null ? lmThreads : defaults.lmThreads(),
                    saeThreads != null ? saeThreads : defaults.saeThreads(), saeSteps != null ? saeSteps : defaults.saeSteps());
            PipelineBenchmark.Settings settings = new PipelineBenchmark.Settings(run.getSpec(), saes, steps, rounds, threads);
            if (fromCache) {
                Path directory = Files.createTempDirectory("saeforge-bench-cache-");
                try {
                    PipelineBenchmark.CacheResult result = PipelineBenchmark.fromCache(settings, ModelSources.fromEnvironment(), directory);
                    if (output == null) {
                        printCacheTable(out, run, result);
                    } else {
                        Printing.printDocument(out, cacheFigures(run, result), output);
                    }
                } finally {
                    Directories.deleteTree(directory);
                }
                return ExitCodes.OK;
            }
            PipelineBenchmark.Result result = PipelineBenchmark.run(settings, ModelSources.fromEnvironment());
            if (output == null) {
                printTable(out, run, result);
            } else {
                Printing.printDocument(out, figures(run, result), output);
            }
            return ExitCodes.OK;
        });
    }

    static Map<String, Object> figures(TrainingRun run, PipelineBenchmark.Result r) {
        PipelineBenchmark.Settings s = r.settings();
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("benchmark", "train");
        figures.put("run", run.getMetadata().getName());
        figures.put("source", r.source());
        figures.put("d_in", r.dIn());
        figures.put("d_sae", r.dSae());
        figures.put("saes", s.saes());
        figures.put("batch_size_tokens", s.spec().training.batchSizeTokens);
        figures.put("steps_per_round", s.steps());
        figures.put("rounds", s.rounds());
        figures.put("cores", Runtime.getRuntime().availableProcessors());
        figures.put("lm_tokens_per_second", r.lm().best());
        figures.put("lm_median_tokens_per_second", r.lm().median());
        figures.put("lm_way", r.lm().description());
        figures.put("lm_ways", ways(r.lmWays()));
        figures.put("sae_tokens_per_second", r.sae().best());
        figures.put("sae_median_tokens_per_second", r.sae().median());
        figures.put("sae_way", r.sae().description());
        figures.put("sae_ways", ways(r.saeWays()));
        figures.put("serial_bound_tokens_per_second", r.serialBound());
        figures.put("tokens_per_second", r.pipeline().best());
        figures.put("median_tokens_per_second", r.pipeline().median());
        figures.put("one_sae_tokens_per_second", r.onePipeline().best());
        figures.put("one_sae_median_tokens_per_second", r.onePipeline().median());
        figures.put("pipeline_lm_forwards", s.pipeline().forwards());
        figures.put("pipeline_lm_threads", s.pipeline().lmThreads());
        figures.put("pipeline_sae_threads", s.pipeline().saeThreads());
        figures.put("pipeline_sae_steps", Math.min(s.pipeline().saeSteps(), s.saes()));
        figures.put("ratio", r.ratio());
        figures.put("speed_up_over_separate_runs", r.speedUp());
        figures.put("load_average", loadAverage());
        return figures;
    }

    static Map<String, Object> cacheFigures(TrainingRun run, PipelineBenchmark.CacheResult r) {
        PipelineBenchmark.Settings s = r.settings();
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("benchmark", "train");
        figures.put("from_cache", true);
        figures.put("run", run.getMetadata().getName());
        figures.put("saes", s.saes());
        figures.put("batch_size_tokens", s.spec().training.batchSizeTokens);
        figures.put("steps_per_round", s.steps());
        figures.put("rounds", s.rounds());
        figures.put("cores", Runtime.getRuntime().availableProcessors());
        figures.put("cache_dtype", r.cacheDtype());
        figures.put("cache_build_seconds", r.buildSeconds());
        figures.put("cache_build_tokens", r.buildRows());
        figures.put("cache_build_tokens_per_second", r.buildTokensPerSecond());
        figures.put("cache_tokens_per_second", r.cache().best());
        figures.put("cache_median_tokens_per_second", r.cache().median());
        figures.put("stream_tokens_per_second", r.stream().best());
        figures.put("stream_median_tokens_per_second", r.stream().median());
        figures.put("ratio", r.ratio());
        figures.put("bytes_per_token", r.bytesPerRowOfHooks());
        figures.put("bytes_per_token_by_hook", r.bytesPerRow());
        figures.put("stored_bytes_per_token", r.storedBytesPerRow());
        figures.put("load_average", loadAverage());
        return figures;
    }

    private static void printCacheTable(PrintWriter out, TrainingRun run, PipelineBenchmark.CacheResult r) {
        PipelineBenchmark.Settings s = r.settings();
        out.printf("%-14s %s: %d SAE%s, batches of %,d tokens, %d steps a round, best of %d%n", "RUN", run.getMetadata().getName(), s.saes(),
                s.saes() == 1 ? "" : "s", s.spec().training.batchSizeTokens, s.steps(), s.rounds());
        out.printf("%-14s %,d tokens in %.1f s (%,.0f tokens/s), %s%n", "CACHE BUILD", r.buildRows(), r.buildSeconds(), r.buildTokensPerSecond(),
                r.cacheDtype());
        out.printf("%-14s %,.0f tokens/s (median %,.0f)%n", "FROM CACHE", r.cache().best(), r.cache().median());
        out.printf("%-14s %,.0f tokens/s (median %,.0f)%n", "FROM STREAM", r.stream().best(), r.stream().median());
        out.printf("%-14s %.3f (from the cache / from the stream)%n", "RATIO", r.ratio());
        r.bytesPerRow().forEach((hook, bytes) -> out.printf("%-14s %,d bytes per token at %s%n", "CACHE SIZE", bytes, hook));
        out.printf("%-14s %,d bytes per token of rows, %,.1f stored (with token ids, positions and headers)%n", "CACHE TOTAL",
                r.bytesPerRowOfHooks(), r.storedBytesPerRow());
    }

    private static void printTable(PrintWriter out, TrainingRun run, PipelineBenchmark.Result r) {
        PipelineBenchmark.Settings s = r.settings();
        out.printf("%-14s %s: %s%n", "RUN", run.getMetadata().getName(), r.source());
        out.printf("%-14s %d x d_in %d, d_sae %d, batches of %,d tokens, %d steps a round, best of %d%n", "SAES", s.saes(), r.dIn(), r.dSae(),
                s.spec().training.batchSizeTokens, s.steps(), s.rounds());
        for (PipelineBenchmark.Way way : r.lmWays()) {
            out.printf("%-14s %,.0f tokens/s (median %,.0f), %s%s%n", "LM ONLY", way.best(), way.median(), way.description(),
                    way == r.lm() ? " (fastest)" : "");
        }
        for (PipelineBenchmark.Way way : r.saeWays()) {
            out.printf("%-14s %,.0f tokens/s (median %,.0f), %s%s%n", "SAE ONLY", way.best(), way.median(), way.description(),
                    way == r.sae() ? " (fastest)" : "");
        }
        out.printf("%-14s %,.0f tokens/s = 1 / (1/lm + %d/sae), each at its fastest%n", "SERIAL BOUND", r.serialBound(), s.saes());
        out.printf("%-14s %,.0f tokens/s (median %,.0f) into each of %d SAE%s, %d forward pass%s at once with %d libtorch thread%s each, "
                        + "SAE steps with %d, %d at once%n",
                "END TO END", r.pipeline().best(), r.pipeline().median(), s.saes(), s.saes() == 1 ? "" : "s", s.pipeline().forwards(),
                s.pipeline().forwards() == 1 ? "" : "es", s.pipeline().lmThreads(), s.pipeline().lmThreads() == 1 ? "" : "s",
                s.pipeline().saeThreads(), Math.min(s.pipeline().saeSteps(), s.saes()));
        out.printf("%-14s %.3f%n", "RATIO", r.ratio());
        if (s.saes() > 1) {
            out.printf("%-14s %,.0f tokens/s (median %,.0f) with 1 SAE, side by side%n", "ONE SAE", r.onePipeline().best(), r.onePipeline().median());
            out.printf("%-14s %.2f x over %d separate runs (%d x %,.0f / %,.0f)%n", "SPEED-UP", r.speedUp(), s.saes(), s.saes(),
                    r.pipeline().best(), r.onePipeline().best());
        }
        out.printf("%-14s %.2f (1-minute load average at the end; other processes slow the pipeline's two threads more than one)%n",
                "LOAD", loadAverage());
    }

    private static Map<String, Object> ways(java.util.List<PipelineBenchmark.Way> ways) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (PipelineBenchmark.Way way : ways) {
            out.put(way.description(), Map.of("tokens_per_second", way.best(), "median_tokens_per_second", way.median()));
        }
        return out;
    }

    /** The 1-minute load average from /proc/loadavg (Linux), or -1 where there is none. */
    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }
}
