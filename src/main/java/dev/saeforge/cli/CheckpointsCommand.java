package dev.saeforge.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.Mappers;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.store.CheckpointManifest;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointSae;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.store.Safetensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/** Looks at a run's checkpoints, and the SAEs in each, in a file or s3 store: list, inspect, pull. */
@Command(name = "checkpoints",
        mixinStandardHelpOptions = true,
        description = {"List, inspect and download the checkpoints of a run, in a local directory or an S3 bucket.",
                "S3 endpoint and credentials come from AWS_ENDPOINT_URL(_S3), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION."},
        subcommands = {CheckpointsCommand.ListCommand.class, CheckpointsCommand.InspectCommand.class, CheckpointsCommand.PullCommand.class})
public class CheckpointsCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Override
    public Integer call() {
        command.commandLine().getErr().println("saeforge checkpoints needs a subcommand: list, inspect or pull");
        command.commandLine().usage(command.commandLine().getErr());
        return ExitCodes.INVALID_INPUT;
    }

    /** --store and --namespace: where a bare RUN or RUN/NAME lives. */
    static class StoreOption {
        @Option(names = "--store", paramLabel = "URI", defaultValue = "runs",
                description = "Checkpoint location for a bare RUN: a path, file://PATH or s3://BUCKET/PREFIX (default: ${DEFAULT-VALUE}).")
        String uri;

        @Option(names = {"-n", "--namespace"}, paramLabel = "NAMESPACE",
                description = "The namespace of a bare RUN trained in a cluster, whose checkpoints are under <store>/<namespace>/RUN.")
        String namespace;

        String location() {
            return namespace == null ? uri : RunIdentity.namespacedLocation(uri, namespace);
        }

        /** What {@code argument} addresses: a bare one in this location, a URI by what is stored there. */
        CheckpointAddress resolve(String argument) throws IOException {
            return CheckpointAddress.resolve(argument, location(), CheckpointStore::open);
        }
    }

    /** The RUN[/NAME[/SAE]]|URI argument of inspect and pull, with the --store it is resolved against. */
    static class CheckpointArgument {
        @Parameters(index = "0", paramLabel = "RUN[/NAME[/SAE]]|URI",
                description = {"A run in --store (its newest complete checkpoint), a checkpoint of it, or one SAE of that;",
                        "or s3://BUCKET/PREFIX/RUN[/NAME[/SAE]], file:///PATH/RUN[/NAME[/SAE]], told apart by what is stored there."})
        String target;

        @Mixin
        StoreOption location;

        CheckpointAddress address() throws IOException {
            return location.resolve(target);
        }
    }

    /** Resolves a command's address, which may look into stores. */
    interface AddressResolver {
        CheckpointAddress resolve() throws IOException;
    }

    /** What a subcommand does with the store; its failures become exit codes. */
    interface StoreWork {
        int run(CheckpointStore store, CheckpointAddress address, PrintWriter out) throws IOException;
    }

    /**
     * Resolves the address, opens its store and runs {@code work}: bad input (an address that
     * names nothing stored included) exits 2, a store failure 1, each with its message on stderr.
     */
    static int withStore(CommandSpec command, AddressResolver address, StoreWork work) {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        try {
            CheckpointAddress resolved = address.resolve();
            try (CheckpointStore store = CheckpointStore.open(resolved.store())) {
                return work.run(store, resolved, out);
            }
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            return ExitCodes.INVALID_INPUT;
        } catch (IOException e) {
            err.println(e.getMessage());
            return ExitCodes.FAILURE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** Whether a checkpoint holds several SAEs, each in its own directory, rather than being one SAE's directory. */
    static boolean hasSaeDirectories(CheckpointRef ref) {
        return CheckpointSae.of(ref).stream().anyMatch(sae -> !sae.directory().isEmpty());
    }

    /** A row per SAE: its hook and the figures recorded with the checkpoint (the held-out evaluation's where there is one). */
    static List<String[]> saeTable(List<CheckpointSae> saes, String indent) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[]{indent + "SAE", "HOOK", "L0", "EXPL-VAR", "DEAD", "CE-SCORE"});
        for (CheckpointSae sae : saes) {
            rows.add(new String[]{indent + sae.name(), sae.hook() == null ? "-" : sae.hook(), figure(sae, "l0", "%.1f"),
                    figure(sae, "explained_variance", "%.3f"),
                    sae.info().get("dead_features") instanceof Number dead ? dead.toString() : "-", figure(sae, "ce_loss_score", "%.3f")});
        }
        return rows;
    }

    /** {@code key} of the SAE's evaluation, else of its step metrics; "-" when neither has it. */
    private static String figure(CheckpointSae sae, String key, String format) {
        for (String section : List.of("evaluation", "metrics")) {
            if (sae.info().get(section) instanceof Map<?, ?> figures && figures.get(key) instanceof Number value) {
                return String.format(Locale.ROOT, format, value.doubleValue());
            }
        }
        return "-";
    }

    /** The run that wrote a checkpoint, as its manifest records it: namespace/name, uid and attempt where known. */
    static String describeWriter(RunIdentity writer) {
        return (writer.namespace() == null ? "" : writer.namespace() + "/") + writer.name()
                + (writer.uid() == null ? "" : ", uid " + writer.uid()) + (writer.attempt() == null ? "" : ", attempt " + writer.attempt());
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = {
            "List a run's checkpoints, oldest first: NAME TOKENS STEP SAES COMPLETE SIZE CREATED;",
            "COMPLETE says \"yes (latest)\" for the newest complete one, the one inspect and pull take for a RUN.",
            "For RUN/NAME, the SAEs in that checkpoint (RUN/NAME/SAE: that one): SAE HOOK L0 EXPL-VAR DEAD CE-SCORE."})
    static class ListCommand implements Callable<Integer> {
        @Parameters(paramLabel = "RUN[/NAME[/SAE]]|URI",
                description = "A run in --store, or a checkpoint or SAE of it; or s3://BUCKET/PREFIX/RUN[/NAME[/SAE]], file:///PATH/RUN[/NAME[/SAE]].")
        String target;

        @Mixin
        StoreOption location;

        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "Print yaml or json instead of a table.")
        OutputFormat output;

        @Spec
        CommandSpec command;

        @Override
        public Integer call() {
            return withStore(command, () -> location.resolve(target), (store, address, out) -> {
                if (address.name() != null) {
                    return listSaes(address.find(store), store, out);
                }
                List<CheckpointRef> refs = store.list(address.run());
                Optional<CheckpointRef> newest = CheckpointAddress.newestComplete(refs);
                Predicate<CheckpointRef> latest = ref -> newest.filter(ref::equals).isPresent();
                if (output != null) {
                    Map<String, Object> document = new LinkedHashMap<>();
                    document.put("store", store.uri());
                    document.put("run", address.run());
                    document.put("checkpoints", refs.stream().map(ref -> document(ref, latest.test(ref))).toList());
                    printDocument(out, document);
                } else if (refs.isEmpty()) {
                    command.commandLine().getErr().println("No checkpoints for run " + address.run() + " in " + store.uri() + ".");
                } else {
                    List<String[]> rows = new ArrayList<>();
                    rows.add(new String[]{"NAME", "TOKENS", "STEP", "SAES", "COMPLETE", "SIZE", "CREATED"});
                    for (CheckpointRef ref : refs) {
                        int saes = CheckpointSae.of(ref).size();
                        rows.add(new String[]{ref.name(), orDash(ref.tokens()), orDash(ref.step()), saes == 0 ? "-" : Integer.toString(saes),
                                latest.test(ref) ? "yes (latest)" : ref.complete() ? "yes" : "no", Printing.bytes(ref.bytes()), ref.created().truncatedTo(ChronoUnit.SECONDS).toString()});
                    }
                    Printing.table(out, rows);
                }
                return ExitCodes.OK;
            });
        }

        /** The SAEs of one checkpoint, or the one named. */
        private int listSaes(CheckpointAddress.Target target, CheckpointStore store, PrintWriter out) throws IOException {
            List<CheckpointSae> saes = target.sae() == null ? CheckpointSae.of(target.checkpoint()) : List.of(target.sae());
            if (output != null) {
                Map<String, Object> document = new LinkedHashMap<>();
                document.put("store", store.uri());
                document.put("run", target.checkpoint().run());
                document.put("checkpoint", target.checkpoint().name());
                document.put("saes", saes.stream().map(sae -> {
                    Map<String, Object> doc = new LinkedHashMap<>();
                    doc.put("name", sae.name());
                    doc.put("hook", sae.hook());
                    doc.put("uri", sae.uri());
                    doc.put("info", sae.info());
                    return doc;
                }).toList());
                printDocument(out, document);
            } else {
                Printing.table(out, saeTable(saes, ""));
            }
            return ExitCodes.OK;
        }

        private static Map<String, Object> document(CheckpointRef ref, boolean latest) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("name", ref.name());
            doc.put("uri", ref.uri());
            doc.put("complete", ref.complete());
            doc.put("latest", latest);
            ref.tokens().ifPresent(tokens -> doc.put("tokens", tokens));
            ref.step().ifPresent(step -> doc.put("step", step));
            doc.put("bytes", ref.bytes());
            doc.put("created", ref.created().toString());
            doc.put("info", ref.info());
            return doc;
        }

        private void printDocument(PrintWriter out, Object document) throws IOException {
            ObjectMapper mapper = output == OutputFormat.json ? Mappers.json() : Mappers.yaml();
            out.println(mapper.writeValueAsString(document).stripTrailing());
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = {"Show a checkpoint (for a RUN, its newest complete one), or one SAE of it: config, tensors, metrics and completeness.",
                    "Prints cfg.json highlights, every tensor's shape and dtype (from the safetensors headers), the metrics",
                    "recorded with it, and whether the checkpoint is complete: every file read and its size and sha256 checked.",
                    "A checkpoint of several SAEs lists them instead of a config; RUN/NAME/SAE shows one.",
                    "Exits 1 when the checkpoint is incomplete or a file does not match its manifest."})
    static class InspectCommand implements Callable<Integer> {
        /** The metadata keys shown beside cfg.json's own (every one of which is shown, whatever the architecture). */
        private static final List<String> METADATA_KEYS = List.of("model_name", "hook_name", "hook_head_index", "context_size",
                "prepend_bos", "dataset_path", "sae_lens_version", "sae_lens_training_version", "training_architecture",
                "num_dead_features");

        @Mixin
        CheckpointArgument checkpoint;

        @Spec
        CommandSpec command;

        /** Keys of the recorded info shown elsewhere than under Metrics. */
        private static final List<String> NOT_METRICS = List.of("tokens", "step", "saes", "name", "hook", "directory");

        @Override
        public Integer call() {
            return withStore(command, checkpoint::address, (store, address, out) -> {
                CheckpointAddress.Target target = address.find(store);
                CheckpointRef ref = target.checkpoint();
                CheckpointSae sae = target.sae();
                Optional<CheckpointManifest> manifest = store.manifest(ref.run(), ref.name());
                List<String> problems = store.verify(ref.run(), ref.name());
                // A checkpoint of several SAEs has no config of its own; its root holds the stream's files.
                boolean several = sae == null && hasSaeDirectories(ref);

                out.println("Name:      " + ref.name());
                out.println("Run:       " + ref.run());
                manifest.map(CheckpointManifest::writer).filter(w -> w.uid() != null || w.attempt() != null)
                        .ifPresent(w -> out.println("Writer:    " + describeWriter(w)));
                if (sae != null) {
                    out.println("SAE:       " + sae.name());
                    out.println("Hook:      " + (sae.hook() == null ? "-" : sae.hook()));
                }
                out.println("URI:       " + target.uri());
                out.println("Created:   " + ref.created().truncatedTo(ChronoUnit.SECONDS));
                out.println("Tokens:    " + orDash(ref.tokens()));
                out.println("Step:      " + orDash(ref.step()));
                out.println("Size:      " + Printing.bytes(sae == null || manifest.isEmpty() ? ref.bytes()
                        : target.files(manifest).stream().mapToLong(CheckpointManifest.FileEntry::bytes).sum()));
                out.println("Complete:  " + (problems.isEmpty()
                        ? "yes (" + manifest.map(m -> m.files().size()).orElse(0) + " files, sizes and sha256 verified)"
                        : "no: " + String.join("; ", problems)));
                if (several) {
                    out.println("SAEs (inspect RUN/NAME/SAE for one):");
                    Printing.table(out, saeTable(CheckpointSae.of(ref), "  "));
                } else {
                    printConfig(store, ref, sae == null ? SaeLensCheckpoint.CONFIG : sae.path(SaeLensCheckpoint.CONFIG), out);
                }
                printTensors(store, ref, manifest, path -> several ? !path.contains("/") : target.holds(path), out);
                out.println("Metrics:");
                Map<String, Object> metrics = new LinkedHashMap<>(sae == null ? ref.info() : sae.info());
                NOT_METRICS.forEach(metrics::remove);
                List<String[]> rows = new ArrayList<>();
                flatten("", metrics, rows);
                if (rows.isEmpty()) {
                    out.println("  (none recorded)");
                }
                rows.forEach(row -> out.println("  " + row[0] + ": " + row[1]));
                return problems.isEmpty() ? ExitCodes.OK : ExitCodes.FAILURE;
            });
        }

        private static void printConfig(CheckpointStore store, CheckpointRef ref, String path, PrintWriter out) {
            out.println("Config (" + path + "):");
            JsonNode cfg;
            try (InputStream in = store.read(ref.run(), ref.name(), path)) {
                cfg = new ObjectMapper().readTree(in);
            } catch (JsonProcessingException e) {
                out.println("  (not JSON: " + e.getOriginalMessage() + ")");
                return;
            } catch (IOException e) {
                out.println("  (unreadable: " + e.getMessage() + ")");
                return;
            }
            List<String[]> rows = new ArrayList<>();
            List<Map.Entry<String, JsonNode>> shown = new ArrayList<>();
            cfg.fields().forEachRemaining(field -> {
                if (!field.getKey().equals("metadata")) {
                    shown.add(field);
                }
            });
            for (String key : METADATA_KEYS) {
                if (cfg.path("metadata").has(key)) {
                    shown.add(Map.entry(key, cfg.path("metadata").get(key)));
                }
            }
            for (Map.Entry<String, JsonNode> field : shown) {
                JsonNode value = field.getValue();
                rows.add(new String[]{"  " + field.getKey() + ":", value.isTextual() ? value.asText() : value.toString()});
            }
            Printing.table(out, rows);
        }

        /** The tensors of the safetensors files that {@code shown} accepts. */
        private static void printTensors(CheckpointStore store, CheckpointRef ref, Optional<CheckpointManifest> manifest,
                                         Predicate<String> shown, PrintWriter out) {
            out.println("Tensors:");
            if (manifest.isEmpty()) {
                out.println("  (unknown: the checkpoint has no manifest listing its files)");
                return;
            }
            List<CheckpointManifest.FileEntry> files = manifest.get().files().stream()
                    .filter(file -> file.path().endsWith(".safetensors") && shown.test(file.path())).toList();
            if (files.isEmpty()) {
                out.println("  (none)");
            }
            for (CheckpointManifest.FileEntry file : files) {
                out.println("  " + file.path() + ":");
                try (InputStream in = store.read(ref.run(), ref.name(), file.path())) {
                    Safetensors.Header header = Safetensors.readHeader(in, file.bytes(), ref.uri() + "/" + file.path());
                    List<String[]> rows = new ArrayList<>();
                    for (Safetensors.Tensor tensor : header.tensors().values()) {
                        rows.add(new String[]{"    " + tensor.name(), tensor.dtype().name(), Arrays.toString(tensor.shape())});
                    }
                    Printing.table(out, rows);
                } catch (IOException e) {
                    out.println("    (unreadable: " + e.getMessage() + ")");
                }
            }
        }

        @SuppressWarnings("unchecked")
        private static void flatten(String prefix, Map<String, Object> values, List<String[]> rows) {
            values.forEach((key, value) -> {
                if (value instanceof Map<?, ?> nested) {
                    flatten(prefix + key + ".", (Map<String, Object>) nested, rows);
                } else {
                    rows.add(new String[]{prefix + key, String.valueOf(value)});
                }
            });
        }
    }

    @Command(name = "pull", mixinStandardHelpOptions = true, description = {"Download a complete checkpoint into DIR, checking every file's sha256; for a RUN, its newest complete one.",
            "RUN/NAME/SAE downloads that SAE's SAELens directory alone (without the checkpoint's manifest)."})
    static class PullCommand implements Callable<Integer> {
        @Mixin
        CheckpointArgument checkpoint;

        @Parameters(index = "1", paramLabel = "DIR", description = "Directory to write the checkpoint's files into (created if missing).")
        Path into;

        @Spec
        CommandSpec command;

        @Override
        public Integer call() {
            return withStore(command, checkpoint::address, (store, address, out) -> {
                CheckpointAddress.Target target = address.find(store);
                CheckpointRef ref = target.checkpoint();
                Path dir = store.pull(ref.run(), ref.name(), target.sae() == null ? "" : target.sae().directory(), into);
                List<CheckpointManifest.FileEntry> files = target.files(store.manifest(ref.run(), ref.name()));
                out.println("Pulled " + target.uri() + " into " + dir + " (" + files.size() + " files, "
                        + Printing.bytes(files.stream().mapToLong(CheckpointManifest.FileEntry::bytes).sum()) + ", sha256 verified)");
                return ExitCodes.OK;
            });
        }
    }

    private static String orDash(OptionalLong value) {
        return value.isPresent() ? Long.toString(value.getAsLong()) : "-";
    }
}
