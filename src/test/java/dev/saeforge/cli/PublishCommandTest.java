package dev.saeforge.cli;

import dev.saeforge.api.ExitCodes;
import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.lm.ModelSources;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.HfHub;
import dev.saeforge.store.HubServer;
import dev.saeforge.store.SaeLensCheckpoint;
import dev.saeforge.train.Training;
import dev.saeforge.train.TrainingListener;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * saeforge publish against {@link HubServer}: checkpoints of a tiny trained single-SAE run and a
 * run of two SAEs go to the hub laid out as SAELens loads them, and come back byte for byte
 * through the project's hf:// download code; an interrupted upload or a failed commit leaves no
 * revision, and the rerun sends only what is missing.
 */
class PublishCommandTest {
    static final String REPO = "sae-org/tiny-saes";
    static final String TOKEN = "hf_writer";
    static final List<String> SAE_FILES = List.of(SaeLensCheckpoint.CONFIG, SaeLensCheckpoint.WEIGHTS, SaeLensCheckpoint.SPARSITY);
    static final String SINGLE = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: single}
            spec:
              synthetic: {features: 16, dIn: 8}
              sae: {dSae: 24}
              training: {tokens: 2560, batchSizeTokens: 256, seed: 3}
            """;
    static final String SEVERAL = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: several}
            spec:
              synthetic: {features: 16, dIn: 8}
              saes: [{name: narrow, sae: {dSae: 16}}, {name: wide, sae: {dSae: 24}}]
              training: {tokens: 2560, batchSizeTokens: 256, seed: 4}
            """;

    @TempDir
    static Path root;
    static Path store;

    @TempDir
    Path hubFiles;
    @TempDir
    Path downloads;

    @BeforeAll
    static void train() throws Exception {
        store = root.resolve("runs");
        for (String yaml : List.of(SINGLE, SEVERAL)) {
            TrainingRun run = TrainingRuns.parse(yaml, "test").get(0);
            try (CheckpointStore checkpoints = CheckpointStore.open(store.toString())) {
                Training.run(RunIdentity.of(run), run.getSpec(), checkpoints, Training.Options.defaults(), new TrainingListener() {
                });
            }
        }
    }

    record Result(int exitCode, String out, String err) {
    }

    static Result publish(HubServer hub, String token, String... args) {
        Map<String, String> env = new HashMap<>();
        env.put("HF_ENDPOINT", hub.endpoint().toString());
        if (token != null) {
            env.put("HF_TOKEN", token);
        }
        CommandLine commandLine = new CommandLine(new PublishCommand(env));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--store", store.toString()));
        int exitCode = commandLine.execute(all.toArray(String[]::new));
        return new Result(exitCode, out.toString(), err.toString());
    }

    /** Downloads every file of the branch through HfHub, as hf:// model and SAE sources are read. */
    Map<String, Path> download(HubServer hub, String revision) throws Exception {
        HfHub client = new HfHub(hub.endpoint(), TOKEN);
        HfHub.Snapshot snapshot = client.snapshot(HfHub.RepoType.MODEL, REPO, revision);
        Map<String, Path> files = new HashMap<>();
        for (String file : snapshot.sizes().keySet()) {
            Path target = downloads.resolve(snapshot.commit()).resolve(file);
            client.download(snapshot, file, target);
            files.put(file, target);
        }
        return files;
    }

    static Path checkpoint(String run) {
        return store.resolve(run).resolve("final_2560");
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    static long puts(HubServer hub, String oid) {
        return hub.requests().stream().filter(r -> r.method().equals("PUT") && r.path().endsWith("/" + oid)).count();
    }

    @Test
    void aSingleSaeComesBackByteForByteInAFolderNamedAfterItAndAnUploadCutOnceIsRetried() throws Exception {
        try (HubServer hub = new HubServer(REPO, hubFiles, TOKEN).withoutRepository()) {
            String weights = sha256(checkpoint("single").resolve(SaeLensCheckpoint.WEIGHTS));
            hub.cutUploads(weights, 1);

            Result result = publish(hub, TOKEN, "single", "hf://" + REPO, "--create");

            assertThat(result.exitCode()).as(result.err()).isZero();
            assertThat(result.out()).contains("Published", hub.commitOf("main"), "SAE.from_pretrained(\"" + REPO + "\", \"single\")");
            assertThat(result.err()).contains("Created repository " + REPO, "MB/s");
            assertThat(puts(hub, weights)).as("the cut upload was sent again").isEqualTo(2);
            Map<String, Path> files = download(hub, "main");
            assertThat(files.keySet()).containsExactlyInAnyOrder("README.md", "single/cfg.json", "single/sae_weights.safetensors",
                    "single/sparsity.safetensors");
            for (String file : SAE_FILES) {
                assertThat(files.get("single/" + file)).as(file).hasSameBinaryContentAs(checkpoint("single").resolve(file));
            }
            assertThat(SaeLensCheckpoint.problems(files.get("single/cfg.json").getParent())).isEmpty();
            assertThat(hub.requests()).filteredOn(r -> r.path().startsWith("/cdn/lfs/")).allSatisfy(r -> assertThat(r.authorization())
                    .as("the token stays with the hub").isNull());
        }
    }

    @Test
    void severalSaesGoUnderThePathWithAModelCardHoldingTheSpecTheMetricsAndHowToMakeAReport() throws Exception {
        try (HubServer hub = new HubServer(REPO, hubFiles, TOKEN)) {
            Result result = publish(hub, TOKEN, "several/final_2560", "hf://" + REPO + "/release-1");

            assertThat(result.exitCode()).as(result.err()).isZero();
            Map<String, Path> files = download(hub, "main");
            assertThat(files.keySet()).containsExactlyInAnyOrder("release-1/README.md",
                    "release-1/narrow/cfg.json", "release-1/narrow/sae_weights.safetensors", "release-1/narrow/sparsity.safetensors",
                    "release-1/wide/cfg.json", "release-1/wide/sae_weights.safetensors", "release-1/wide/sparsity.safetensors");
            ModelSources sources = new ModelSources(downloads.resolve("cache"), new HfHub(hub.endpoint(), TOKEN), Map.of());
            for (String sae : List.of("narrow", "wide")) {
                // As spec.sae.fromPretrained reads an SAE from the hub: the repository and the SAE id.
                Path fetched = sources.resolveFiles("hf://" + REPO + "/release-1/" + sae, "saes", "SAE checkpoint", SAE_FILES);
                for (String file : SAE_FILES) {
                    assertThat(fetched.resolve(file)).as(sae + "/" + file).hasSameBinaryContentAs(checkpoint("several").resolve(sae).resolve(file));
                }
                assertThat(SaeLensCheckpoint.problems(fetched)).isEmpty();
            }
            String card = Files.readString(files.get("release-1/README.md"));
            assertThat(card).startsWith("---\nlibrary_name: saelens\ntags:\n")
                    .contains("SAE.from_pretrained(\"" + REPO + "\", \"release-1/narrow\")", "| `release-1/wide` |")
                    .contains("kind: TrainingRun", "- name: narrow").contains("dead_features", "evaluation.explained_variance")
                    .contains("saeforge report several/final_2560 -o DIR");
        }
    }

    @Test
    void aReportBesideTheCheckpointIsPublishedAndLinkedRelatively() throws Exception {
        Path report = checkpoint("single").resolve("report");
        Files.createDirectories(report);
        Files.writeString(report.resolve("index.html"), "<!doctype html><title>report</title>");
        Files.writeString(report.resolve("report.json"), "{\"curves\": {}}");
        try (HubServer hub = new HubServer(REPO, hubFiles, TOKEN)) {
            Result result = publish(hub, TOKEN, "single", "hf://" + REPO);

            assertThat(result.exitCode()).as(result.err()).isZero();
            Map<String, Path> files = download(hub, "main");
            assertThat(files.get("report/index.html")).hasSameBinaryContentAs(report.resolve("index.html"));
            assertThat(files.get("report/report.json")).hasSameBinaryContentAs(report.resolve("report.json"));
            assertThat(Files.readString(files.get("README.md"))).contains("](report/index.html)").doesNotContain("saeforge report");
        } finally {
            try (Stream<Path> walk = Files.walk(report)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void anInterruptedUploadCommitsNothingAndTheRerunSendsOnlyWhatIsMissing() throws Exception {
        try (HubServer hub = new HubServer(REPO, hubFiles, TOKEN)) {
            String before = hub.commitOf("main");
            String last = sha256(checkpoint("several").resolve("wide").resolve(SaeLensCheckpoint.SPARSITY));
            hub.cutUploads(last, 100);

            Result failed = publish(hub, TOKEN, "several", "hf://" + REPO);

            assertThat(failed.exitCode()).isEqualTo(ExitCodes.RESUME);
            assertThat(failed.err()).contains("upload of wide/sparsity.safetensors", "giving up", "Nothing was committed");
            assertThat(hub.commitOf("main")).isEqualTo(before);
            assertThat(hub.requests()).noneMatch(r -> r.path().contains("/commit/"));

            hub.cutUploads(last, 0);
            hub.requests().clear();
            Result rerun = publish(hub, TOKEN, "several", "hf://" + REPO);

            assertThat(rerun.exitCode()).as(rerun.err()).isZero();
            assertThat(rerun.err()).contains("4 LFS files: 3 on the hub already, 1 to upload");
            assertThat(hub.requests()).filteredOn(r -> r.method().equals("PUT")).extracting(HubServer.Request::path)
                    .containsExactly("/cdn/lfs/" + last);
            assertThat(hub.commitOf("main")).isNotEqualTo(before);
            assertThat(download(hub, "main").get("wide/sparsity.safetensors"))
                    .hasSameBinaryContentAs(checkpoint("several").resolve("wide").resolve(SaeLensCheckpoint.SPARSITY));
        }
    }

    @Test
    void aFailedCommitLeavesTheRevisionAsItWas() throws Exception {
        try (HubServer hub = new HubServer(REPO, hubFiles, TOKEN)) {
            assertThat(publish(hub, TOKEN, "single", "hf://" + REPO).exitCode()).isZero();
            String published = hub.commitOf("main");
            Map<String, byte[]> files = hub.filesOf(published);
            hub.failCommits(100);

            Result failed = publish(hub, TOKEN, "several", "hf://" + REPO, "--message", "the second one");

            assertThat(failed.exitCode()).isEqualTo(ExitCodes.RESUME);
            assertThat(failed.err()).contains("commit to " + REPO + "@main", "HTTP 500", "Nothing was committed");
            assertThat(hub.commitOf("main")).isEqualTo(published);
            assertThat(hub.filesOf(published)).containsOnlyKeys(files.keySet());
        }
    }

    @Test
    void aMissingOrPowerlessTokenAMissingRepositoryAndABadTargetAreClearErrors() throws Exception {
        try (HubServer hub = new HubServer(REPO, hubFiles, TOKEN)) {
            Result noToken = publish(hub, null, "single", "hf://" + REPO);
            Result wrongToken = publish(hub, "hf_wrong", "single", "hf://" + REPO);
            Result readOnly = publish(hub, HubServer.READ_ONLY_TOKEN, "single", "hf://" + REPO);
            Result badTarget = publish(hub, TOKEN, "single", "s3://bucket/" + REPO);

            assertThat(noToken.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
            assertThat(noToken.err()).contains("HF_TOKEN is not set", "write access");
            assertThat(wrongToken.exitCode()).isEqualTo(ExitCodes.FAILURE);
            assertThat(wrongToken.err()).contains("HTTP 401", "the token in HF_TOKEN cannot write to " + REPO, "Nothing was committed");
            assertThat(readOnly.exitCode()).isEqualTo(ExitCodes.FAILURE);
            assertThat(readOnly.err()).contains("HTTP 403", "the token in HF_TOKEN cannot write to " + REPO);
            assertThat(badTarget.exitCode()).isEqualTo(ExitCodes.INVALID_INPUT);
            assertThat(badTarget.err()).contains("\"s3://bucket/" + REPO + "\"", "expected hf://ORG/REPO[/PATH]");
            assertThat(hub.commitOf("main")).isEqualTo(HubServer.COMMIT);
        }
        try (HubServer missing = new HubServer(REPO, hubFiles, TOKEN).withoutRepository()) {
            Result result = publish(missing, TOKEN, "single", "hf://" + REPO);

            assertThat(result.exitCode()).isEqualTo(ExitCodes.FAILURE);
            assertThat(result.err()).contains("HTTP 404", "Repository not found", "--create creates it");
        }
    }
}
