package dev.saeforge.cli;

import dev.saeforge.api.ActivationCacheSpec;
import dev.saeforge.api.ActivationsSpec;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.cache.CacheFiles;
import dev.saeforge.cache.CacheLayout;
import dev.saeforge.cache.CacheManifests;
import dev.saeforge.cache.CacheWriter;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.train.Training;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.inject.Inject;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/** Activation caches: build one (or one index of one) from a TrainingRun, and list, verify and delete them. */
@Command(name = "cache",
        description = {"Build, list, verify and delete activation caches (spec.activations.cache).",
                "S3 endpoint and credentials come from AWS_ENDPOINT_URL(_S3), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION."},
        subcommands = {CacheCommand.BuildCommand.class, CacheCommand.ListCommand.class, CacheCommand.VerifyCommand.class,
                CacheCommand.RemoveCommand.class})
public class CacheCommand extends ParentCommand {

    /** Runs {@code work} on the cache at {@code uri}: refused input exits 2, a failure 1. */
    static int withCache(CommandSpec command, String uri, CacheWork work) {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        try {
            return work.run(CacheFiles.open(uri, System.getenv()), out, err);
        } catch (IllegalArgumentException e) {
            err.println("saeforge: " + e.getMessage());
            return ExitCodes.INVALID_INPUT;
        } catch (IOException | RuntimeException e) {
            err.println("saeforge: " + FailureMessages.describe(e));
            return ExitCodes.FAILURE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    interface CacheWork {
        int run(CacheFiles files, PrintWriter out, PrintWriter err) throws IOException;
    }

    /** A command on the cache at URI. */
    abstract static class OnCache implements Callable<Integer>, CacheWork {
        @Parameters(paramLabel = "URI", description = "The cache's location: s3://BUCKET/PREFIX, file://PATH or a directory.")
        String uri;

        @Spec
        CommandSpec command;

        @Override
        public Integer call() {
            return withCache(command, uri, this);
        }
    }

    /** The cache's description, or a refusal naming the location. */
    static CacheLayout.Info info(CacheFiles files) throws IOException {
        return CacheManifests.info(files).orElseThrow(() -> new IllegalArgumentException(files.uri() + " holds no activation cache (no "
                + CacheLayout.INFO + ")"));
    }

    /** The run whose cache to build: a file, or a TrainingRun in the cluster. */
    static final class Target {
        @Parameters(paramLabel = "FILE", description = "A TrainingRun YAML file whose spec.activations.cache to build.")
        Path file;

        @Option(names = "--run", paramLabel = "NAMESPACE/NAME",
                description = "Build the cache of the TrainingRun stored in the cluster (what the operator's Indexed Job runs).")
        String run;
    }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = {"Build a run's activation cache: every index in turn, or only --index I of --of N (what pod I of a"
                    + " parallel build does). Resumes what an earlier build left; the same index always gets the same bytes."})
    static class BuildCommand implements Callable<Integer> {
        @ArgGroup(multiplicity = "1")
        Target target;

        @Option(names = "--index", paramLabel = "I", description = "Build only index I (0 <= I < N); index 0 also writes the held-out rows.")
        Integer index;

        @Option(names = "--of", paramLabel = "N", defaultValue = "1", description = "Indexes the cache is split into (default ${DEFAULT-VALUE}).")
        int of;

        @Inject
        KubernetesClient client;

        @Spec
        CommandSpec command;

        @Override
        public Integer call() {
            PrintWriter out = command.commandLine().getOut();
            PrintWriter err = command.commandLine().getErr();
            try {
                return build(out, err);
            } finally {
                out.flush();
                err.flush();
            }
        }

        private int build(PrintWriter out, PrintWriter err) {
            if (of < 1 || of > ActivationsSpec.MAX_PARALLELISM || (index != null && (index < 0 || index >= of))) {
                err.println("saeforge: --index " + index + " --of " + of + ": expected 1 <= N <= "
                        + ActivationsSpec.MAX_PARALLELISM + " and 0 <= I < N");
                return ExitCodes.INVALID_INPUT;
            }
            TrainCommand.Read read = TrainCommand.read(target.file, target.run, client, err);
            if (read.run() == null) {
                return read.exitCode();
            }
            TrainingRun run = read.run();
            String source = read.source();
            TrainingRunSpec spec = run.getSpec();
            if (spec.activations == null || spec.activations.cache == null) {
                err.println("saeforge: " + source + ": spec.activations.cache is not set; expected {uri: s3://BUCKET/PREFIX or a directory}"
                        + " to build a cache");
                return ExitCodes.INVALID_INPUT;
            }
            ActivationCacheSpec cache = spec.activations.cache;
            String location = cache.location(spec.checkpoints, System.getenv());
            List<HookPoint> hooks = Training.hooks(spec, run.getMetadata().getName());
            try (LanguageModelData data = LanguageModelData.open(spec, hooks, Training.device(spec.training.device), ModelSources.fromEnvironment())) {
                CacheFiles files = CacheFiles.open(location, System.getenv());
                CacheWriter writer = new CacheWriter(spec, data, hooks, files, new CacheProgress(err));
                if (index == null) {
                    CacheLayout.Manifest manifest = writer.buildAll(of);
                    out.printf("cache %s: complete, %d index%s, %,d training rows, %,d held-out rows, %s%n", files.uri(), of, of == 1 ? "" : "es",
                            manifest.trainingRows(), manifest.heldOut().rows(), Printing.bytes(((Number) manifest.extra().get("bytes")).longValue()));
                } else {
                    CacheLayout.IndexManifest manifest = writer.build(index, of);
                    CacheManifests.Completeness state = CacheManifests.complete(files);
                    out.printf("cache %s: index %d of %d complete, %,d rows in %d shard%s; the cache is %s%n", files.uri(), index, of,
                            manifest.rows(), manifest.shards().size(), manifest.shards().size() == 1 ? "" : "s",
                            state.complete() ? "complete" : "not complete yet (" + state.missing().size() + " part"
                                    + (state.missing().size() == 1 ? "" : "s") + " missing)");
                }
                return ExitCodes.OK;
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                err.println("saeforge: " + source + ": " + e.getMessage());
                return ExitCodes.INVALID_INPUT;
            } catch (Exception e) {
                return FailureMessages.failed(err, "the cache build", "the last complete shard", e);
            }
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true,
            description = "List a cache: what it holds (its key) and each index's shards, rows, bytes and whether it is complete.")
    static class ListCommand extends OnCache {
        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "Print yaml or json instead of a table.")
        OutputFormat output;

        /** One index (or held_out) as listed. */
        record IndexState(String index, long shards, long rows, long bytes, boolean complete) {
        }

        @Override
        public int run(CacheFiles files, PrintWriter out, PrintWriter err) throws IOException {
            CacheLayout.Info info = info(files);
            CacheManifests.Completeness state = CacheManifests.complete(files);
            List<IndexState> indexes = new ArrayList<>();
            for (int i = 0; i < info.of(); i++) {
                indexes.add(state(files, Integer.toString(i), i, info.of()));
            }
            indexes.add(state(files, CacheLayout.HELD_OUT, -1, info.of()));
            if (output != null) {
                Map<String, Object> document = new LinkedHashMap<>();
                document.put("uri", files.uri());
                document.put("complete", state.complete());
                document.put("missing", state.missing());
                document.put("info", info);
                document.put("indexes", indexes);
                Printing.printDocument(out, document, output);
                return ExitCodes.OK;
            }
            out.printf("Cache:     %s (%s)%n", files.uri(), state.complete() ? "complete" : "not complete");
            out.printf("Model:     %s%s, forward in %s, stored as %s%n", info.key().model(),
                    info.key().revision() == null ? " (no revision: a local or generated model)" : " at " + info.key().revision(), info.key().modelDtype(),
                    info.dtype());
            out.printf("Hooks:     %s%n", String.join(", ", info.hooks().stream().map(h -> h.hook() + " (" + h.width() + ")").toList()));
            out.printf("Dataset:   %s (%d file%s), windows of %s tokens%n", info.key().dataset(), info.key().datasetFiles().size(),
                    info.key().datasetFiles().size() == 1 ? "" : "s", info.key().packing().get("contextSize"));
            out.printf("Passes:    %,d of %,d rows at most, over %d index%s; %,d rows per shard; %,d held-out rows%n", info.passes(),
                    info.rowsPerPass(), info.of(), info.of() == 1 ? "" : "es", info.rowsPerShard(), info.heldOutRows());
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[]{"INDEX", "SHARDS", "ROWS", "BYTES", "COMPLETE"});
            for (IndexState index : indexes) {
                rows.add(new String[]{index.index(), Long.toString(index.shards()), String.format("%,d", index.rows()),
                        Printing.bytes(index.bytes()), index.complete() ? "yes" : "no"});
            }
            Printing.table(out, rows);
            return ExitCodes.OK;
        }

        /** An index's shards so far: from its manifest when complete, else from the shard records written. */
        private static IndexState state(CacheFiles files, String name, int index, int of) throws IOException {
            Optional<CacheLayout.IndexManifest> manifest = CacheManifests.index(files, index, of);
            List<CacheLayout.ShardRecord> shards = new ArrayList<>();
            if (manifest.isPresent()) {
                shards.addAll(manifest.get().shards());
            } else {
                String directory = CacheManifests.directory(index, of);
                for (String path : files.list(directory).keySet()) {
                    if (path.endsWith(".json") && path.substring(directory.length() + 1).startsWith("shard-")) {
                        files.readJson(path, CacheLayout.ShardRecord.class).ifPresent(shards::add);
                    }
                }
            }
            return new IndexState(name, shards.size(), shards.stream().mapToLong(CacheLayout.ShardRecord::rows).sum(),
                    shards.stream().mapToLong(CacheLayout.ShardRecord::bytes).sum(), manifest.isPresent());
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check that a cache is complete and that every shard has the size and sha256 its record names; exit 1 if not.")
    static class VerifyCommand extends OnCache {
        @Override
        public int run(CacheFiles files, PrintWriter out, PrintWriter err) throws IOException {
            info(files);
            CacheManifests.Completeness state = CacheManifests.complete(files);
            if (!state.complete()) {
                state.missing().forEach(m -> err.println("saeforge: " + files.uri() + ": " + m));
                return ExitCodes.FAILURE;
            }
            CacheLayout.Manifest manifest = state.manifest().orElseThrow();
            List<String> bad = new ArrayList<>();
            long shards = 0;
            long bytes = 0;
            List<CacheLayout.IndexManifest> parts = new ArrayList<>(manifest.indexes());
            parts.add(manifest.heldOut());
            for (CacheLayout.IndexManifest part : parts) {
                String directory = CacheManifests.directory(part.index(), manifest.info().of());
                for (CacheLayout.ShardRecord shard : part.shards()) {
                    shards++;
                    bytes += shard.bytes();
                    if (!CacheWriter.verifies(files, directory, shard)) {
                        bad.add(directory + "/" + shard.file());
                    }
                }
            }
            if (!bad.isEmpty()) {
                bad.forEach(file -> err.println("saeforge: " + files.uri() + "/" + file + ": missing, or its size or sha256 differs from its record"));
                err.printf("saeforge: %d of %d shards do not verify; rebuild their indexes (saeforge cache build --index I --of %d)%n",
                        bad.size(), shards, manifest.info().of());
                return ExitCodes.FAILURE;
            }
            out.printf("cache %s: complete; %d shards, %s, verified%n", files.uri(), shards, Printing.bytes(bytes));
            return ExitCodes.OK;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Delete a cache: the files its layout names (cache.json, manifests, index and held-out shards), nothing else.")
    static class RemoveCommand extends OnCache {
        @Override
        public int run(CacheFiles files, PrintWriter out, PrintWriter err) throws IOException {
            if (CacheManifests.info(files).isEmpty()) {
                err.println("saeforge: " + files.uri() + " holds no activation cache (no " + CacheLayout.INFO + "); nothing deleted");
                return ExitCodes.INVALID_INPUT;
            }
            int deleted = files.deleteCache();
            out.printf("deleted the cache at %s (%d files)%n", files.uri(), deleted);
            return ExitCodes.OK;
        }
    }
}
