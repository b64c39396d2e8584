package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.ReportSpec;
import dev.saeforge.report.ReportOptions;
import dev.saeforge.report.Reports;
import dev.saeforge.store.CheckpointRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** saeforge report: what a checkpoint's SAEs learned, as a static page and report.json. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Write DIR/index.html (one self-contained page) and DIR/report.json about a checkpoint's SAEs: training curves,",
                "the feature-density histogram, and latent cards with top contexts over held-out tokens, activation histograms",
                "and the logit lens. The tokens come from spec.dataset.eval, else from the run's data after its training range."})
public class ReportCommand implements Callable<Integer> {
    private static final long PROGRESS_INTERVAL_NANOS = 2_000_000_000L;

    @Mixin
    CheckpointsCommand.CheckpointArgument checkpoint;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "Directory to write index.html and report.json into.")
    Path output;

    @Option(names = "--tokens", paramLabel = "N", description = "Held-out tokens to collect over (default ${DEFAULT-VALUE}).")
    long tokens = ReportSpec.DEFAULT_TOKENS;

    @Option(names = "--latents", paramLabel = "K", description = "Cards for the K most frequent latents of each SAE (default ${DEFAULT-VALUE}).")
    int frequent = ReportSpec.DEFAULT_LATENTS;

    @Option(names = "--sample", paramLabel = "M", description = "Cards for a random sample of M other latents that fired (default ${DEFAULT-VALUE}).")
    int sample = ReportSpec.DEFAULT_SAMPLE;

    @Option(names = "--latent", paramLabel = "I", description = "A card for latent I of each SAE, even if dead; repeatable.")
    List<Integer> latents = new ArrayList<>();

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the random sample (default ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    CommandSpec command;

    @Override
    public Integer call() {
        PrintWriter err = command.commandLine().getErr();
        ReportOptions options;
        try {
            options = new ReportOptions(tokens, frequent, sample, latents, seed, ReportOptions.DEFAULT_CONTEXTS, null);
            Reports.checkOutput(output);
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            err.flush();
            return ExitCodes.INVALID_INPUT;
        }
        return CheckpointsCommand.withStore(command, checkpoint::address, (store, address, out) -> {
            CheckpointAddress.Target target = address.find(store);
            CheckpointRef ref = target.checkpoint();
            err.println("report: " + target.uri() + ", " + String.format("%,d", options.tokens()) + " held-out tokens");
            Reports.write(store, ref, target.sae() == null ? options : options.only(target.sae().name()), output, progress(err));
            out.println(output.resolve(Reports.PAGE_FILE));
            return ExitCodes.OK;
        });
    }

    /** Progress lines on stderr every 2 s and at the end: tokens, tokens/s and the time left. */
    static Reports.Progress progress(PrintWriter err) {
        long started = System.nanoTime();
        return new Reports.Progress() {
            private long lastPrinted = started;

            @Override
            public void collected(long tokens, long total) {
                long now = System.nanoTime();
                if (now - lastPrinted >= PROGRESS_INTERVAL_NANOS || tokens >= total) {
                    double rate = tokens / Math.max(1e-9, (now - started) / 1e9);
                    err.printf("report: %s/%s tok  %s tok/s  ETA %s%n", Units.count(tokens), Units.count(total), Units.count(Math.round(rate)),
                            Units.duration((total - tokens) / rate));
                    err.flush();
                    lastPrinted = now;
                }
            }

            @Override
            public void warning(String message) {
                err.println("WARNING: " + message);
                err.flush();
            }
        };
    }
}
