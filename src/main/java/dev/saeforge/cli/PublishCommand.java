package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointSae;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.Directories;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.HubUpload;
import dev.saeforge.store.TransientIOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** saeforge publish: a checkpoint's SAEs to a Hugging Face model repository, as SAELens loads them from the hub. */
@Command(name = "publish", mixinStandardHelpOptions = true,
        description = {"Upload a complete checkpoint's SAEs to a Hugging Face model repository in one commit, laid out as SAELens"
                + " loads them: a folder per SAE id (cfg.json, sae_weights.safetensors, sparsity.safetensors) and a README.md model card"
                + " (the TrainingRun, the metrics, the report's link; report/ too when the checkpoint has one).",
                "HF_TOKEN (a token with write access) and HF_ENDPOINT come from the environment.",
                "Every file is checked against the checkpoint's sha256 first; a failed upload commits nothing, and running the"
                        + " command again uploads only what the hub does not hold yet."})
public class PublishCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN[/NAME[/SAE]]|URI",
            description = {"A run in --store (its newest complete checkpoint), a checkpoint of it, or one SAE of that;",
                    "or s3://BUCKET/PREFIX/RUN[/NAME[/SAE]], file:///PATH/RUN[/NAME[/SAE]]."})
    String checkpoint;

    @Parameters(index = "1", paramLabel = Publication.FORM, description = "The model repository, and optionally a folder in it, to publish to.")
    String target;

    @Option(names = "--revision", paramLabel = "BRANCH", defaultValue = "main", description = "The branch to commit to (default: ${DEFAULT-VALUE}).")
    String revision;

    @Option(names = "--message", paramLabel = "TEXT", description = "The commit message (default: Publish RUN/NAME with saeforge).")
    String message;

    @Option(names = "--create", description = "Create the repository when it does not exist.")
    boolean create;

    @Mixin
    CheckpointsCommand.StoreOption location;

    @Spec
    CommandSpec command;

    private final Map<String, String> env;

    public PublishCommand() {
        this(System.getenv());
    }

    /** With the environment HF_TOKEN and HF_ENDPOINT are read from (tests). */
    PublishCommand(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        PrintWriter out = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        try {
            Publication publication = Publication.parse(target);
            HfHub hub = new HfHub(URI.create(env.getOrDefault("HF_ENDPOINT", HfHub.DEFAULT_ENDPOINT)), env.get("HF_TOKEN"));
            HubUpload upload = new HubUpload(hub, line -> {
                err.println(line);
                err.flush();
            });
            upload.checkTarget(publication.repo(), revision);
            CheckpointAddress address = location.resolve(checkpoint);
            try (CheckpointStore store = CheckpointStore.open(address.store())) {
                CheckpointAddress.Target found = address.find(store);
                CheckpointRef ref = found.checkpoint();
                List<CheckpointSae> saes = found.sae() == null ? CheckpointSae.of(ref) : List.of(found.sae());
                if (Boolean.FALSE.equals(ref.info().get("final"))) {
                    err.println("warning: " + ref.uri() + " is a periodic checkpoint, not a final_* one: its SAEs are in SAELens' training format"
                            + " (TrainingSAE.load_from_disk); SAE.from_pretrained expects a final checkpoint's");
                }
                Path work = Files.createTempDirectory("saeforge-publish-");
                try {
                    Path pulled = store.pull(ref.run(), ref.name(), work.resolve("checkpoint"));
                    Path report = report(store, ref, pulled, work.resolve(Publication.REPORT));
                    List<HubUpload.LocalFile> files = publication.files(pulled, ref, saes, report, work);
                    err.println("Publishing " + found.uri() + " to " + publication.uri() + "@" + revision + ": " + files.size() + " files, "
                            + Printing.bytes(files.stream().mapToLong(HubUpload.LocalFile::size).sum()));
                    HubUpload.Commit commit = upload.upload(publication.repo(), revision, files,
                            message != null ? message : "Publish " + ref.run() + "/" + ref.name() + " with saeforge", create);
                    out.println("Published " + found.uri() + " to " + publication.uri() + " at revision " + commit.oid() + " (" + revision + ")");
                    out.println(commit.url());
                    for (CheckpointSae sae : saes) {
                        out.println("  SAE.from_pretrained(\"" + publication.repo() + "\", \"" + publication.saeId(sae, saes.size()) + "\")");
                    }
                    return ExitCodes.OK;
                } finally {
                    Directories.deleteTree(work);
                }
            }
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            return ExitCodes.INVALID_INPUT;
        } catch (TransientIOException e) {
            err.println(e.getMessage());
            err.println("Nothing was committed. Run the same command again: what reached the hub is not uploaded again.");
            return ExitCodes.RESUME;
        } catch (IOException e) {
            err.println(e.getMessage());
            err.println("Nothing was committed.");
            return ExitCodes.FAILURE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /**
     * The checkpoint's feature report directory, {@code report/} beside its files: pulled with it
     * when the manifest lists it, else its index.html and report.json read from the store; null when
     * it has none.
     */
    private static Path report(CheckpointStore store, CheckpointRef ref, Path pulled, Path into) throws IOException {
        if (Files.isRegularFile(pulled.resolve(Publication.REPORT).resolve("index.html"))) {
            return pulled.resolve(Publication.REPORT);
        }
        for (String file : List.of("index.html", "report.json")) {
            try (InputStream in = store.read(ref.run(), ref.name(), Publication.REPORT + "/" + file)) {
                Files.createDirectories(into);
                Files.copy(in, into.resolve(file));
            } catch (NoSuchFileException e) {
                if (file.equals("index.html")) {
                    return null;
                }
            }
        }
        return into;
    }
}
