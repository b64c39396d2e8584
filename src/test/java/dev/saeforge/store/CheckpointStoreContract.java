package dev.saeforge.store;

import dev.saeforge.api.RunIdentity;
import dev.saeforge.store.CheckpointManifest.FileEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What every checkpoint store does, whatever holds the bytes. Each backend's test extends this
 * and says how to reach the stored bytes behind the store's back (to corrupt a file, or to leave
 * files without a manifest as an interrupted writer would).
 */
abstract class CheckpointStoreContract {
    static final int D_IN = 32;
    static final int D_SAE = 256;

    @TempDir
    Path temp;
    CheckpointStore store;
    /** A run of its own for each test, so tests sharing a server do not see each other. */
    String run;

    abstract CheckpointStore openStore() throws IOException;

    /** Overwrites {@code file} of a published checkpoint with {@code bytes}, bypassing the store. */
    abstract void overwrite(String run, String name, String file, byte[] bytes) throws Exception;

    /** Puts the files of {@code dir} where checkpoint {@code name} lives, without a manifest. */
    abstract void placeWithoutManifest(String run, String name, Path dir) throws Exception;

    @BeforeEach
    void openIt() throws IOException {
        store = openStore();
        run = "run-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void closeIt() throws IOException {
        store.close();
    }

    /** A fresh local SAELens checkpoint directory for {@code tokens} (contents depend on tokens). */
    Path checkpointDir(long tokens) throws IOException {
        return SaeCheckpointDirs.write(temp.resolve("local-" + tokens + "-" + UUID.randomUUID()), D_IN, D_SAE, tokens, tokens);
    }

    CheckpointRef publish(String name, long tokens) throws IOException {
        return store.publish(run, name, checkpointDir(tokens), Map.of("tokens", tokens, "step", tokens / 4096));
    }

    @Test
    void aPublishedCheckpointPullsBackByteForByte() throws Exception {
        Path local = checkpointDir(409600);
        Path original = copyOf(local);

        CheckpointRef ref = store.publish(run, "409600", local, Map.of("tokens", 409600L, "step", 100L));
        Path pulled = store.pull(run, "409600", temp.resolve("pulled"));

        assertThat(ref.complete()).isTrue();
        assertThat(ref.uri()).isEqualTo(store.uri() + "/" + run + "/409600");
        for (String file : List.of("cfg.json", "sae_weights.safetensors", "sparsity.safetensors", "activations_store_state.safetensors")) {
            assertThat(pulled.resolve(file)).as(file).hasSameBinaryContentAs(original.resolve(file));
        }
        try (Safetensors.Reader weights = Safetensors.read(pulled.resolve("sae_weights.safetensors"))) {
            assertThat(weights.tensors().keySet()).containsExactly("W_enc", "W_dec", "b_enc", "b_dec", "threshold");
        }
        assertThat(pulled.resolve(CheckpointManifest.FILE_NAME)).exists();
    }

    @Test
    void theManifestRecordsEveryFileWithItsSizeAndSha256AndTheTrainersInfo() throws Exception {
        Path local = checkpointDir(819200);
        Map<String, FileEntry> expected = new java.util.TreeMap<>();
        try (Stream<Path> files = Files.list(local)) {
            for (Path file : files.toList()) {
                byte[] bytes = Files.readAllBytes(file);
                String sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
                expected.put(file.getFileName().toString(), new FileEntry(file.getFileName().toString(), bytes.length, sha256));
            }
        }
        Map<String, Object> info = Map.of("tokens", 819200L, "step", 200L, "metrics", Map.of("l0", 41.5, "explained_variance", 0.93));

        CheckpointRef ref = store.publish(run, "819200", local, info);
        CheckpointManifest manifest = store.manifest(run, "819200").orElseThrow();

        assertThat(manifest.files()).containsExactlyInAnyOrderElementsOf(expected.values());
        assertThat(manifest.run()).isEqualTo(run);
        assertThat(manifest.name()).isEqualTo("819200");
        assertThat(manifest.info()).containsEntry("tokens", 819200).containsEntry("step", 200)
                .containsEntry("metrics", Map.of("l0", 41.5, "explained_variance", 0.93));
        assertThat(ref.bytes()).isEqualTo(expected.values().stream().mapToLong(FileEntry::bytes).sum());
        assertThat(ref.tokens()).hasValue(819200);
        assertThat(ref.step()).hasValue(200);
        assertThat(store.verify(run, "819200")).isEmpty();
        assertThat(store.list(run)).singleElement().satisfies(listed -> {
            assertThat(listed.complete()).isTrue();
            assertThat(listed.info()).isEqualTo(manifest.info());
            assertThat(listed.created()).isEqualTo(manifest.created());
        });
    }

    @Test
    void filesInSubdirectoriesAndEmptyFilesArePartOfTheCheckpoint() throws Exception {
        Path local = checkpointDir(409600);
        Files.createDirectories(local.resolve("trainer"));
        Files.write(local.resolve("trainer/optimizer.safetensors"), new byte[]{1, 2, 3});
        Files.write(local.resolve("trainer/EMPTY"), new byte[0]);

        store.publish(run, "409600", local, Map.of("tokens", 409600L));
        Path pulled = store.pull(run, "409600", temp.resolve("pulled"));

        assertThat(store.manifest(run, "409600").orElseThrow().files()).extracting(FileEntry::path)
                .contains("trainer/optimizer.safetensors", "trainer/EMPTY");
        assertThat(pulled.resolve("trainer/optimizer.safetensors")).hasBinaryContent(new byte[]{1, 2, 3});
        assertThat(pulled.resolve("trainer/EMPTY")).isEmptyFile();
        assertThat(store.verify(run, "409600")).isEmpty();
    }

    @Test
    void oneSaeOfACheckpointOfSeveralPullsAloneVerifiedAndWithoutTheManifest() throws Exception {
        Path local = SaeCheckpointDirs.writeSeveral(temp.resolve("several"), D_IN, D_SAE, 409600,
                Map.of("mlp28-c1", "blocks.28.hook_mlp_out", "resid20", "blocks.20.hook_resid_post"));
        Path original = copyOf(local.resolve("resid20"));
        store.publish(run, "409600", local, Map.of("tokens", 409600L));

        Path pulled = store.pull(run, "409600", "resid20", temp.resolve("pulled"));

        try (Stream<Path> files = Files.list(pulled)) {
            assertThat(files.map(file -> file.getFileName().toString())).containsExactlyInAnyOrder("cfg.json", "sae_weights.safetensors",
                    "sparsity.safetensors", "activation_scaler.json", "trainer_state.json");
        }
        assertThat(pulled.resolve("sae_weights.safetensors")).hasSameBinaryContentAs(original.resolve("sae_weights.safetensors"));
        assertThat(pulled.resolve("cfg.json")).hasSameBinaryContentAs(original.resolve("cfg.json"));
        assertThatThrownBy(() -> store.pull(run, "409600", "mlp28-c3", temp.resolve("elsewhere")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageEndingWith("has no files under mlp28-c3/");
    }

    @Test
    void anSaesCorruptedFileIsNotPulled() throws Exception {
        Path local = SaeCheckpointDirs.writeSeveral(temp.resolve("several"), D_IN, D_SAE, 409600, Map.of("mlp28-c1", "blocks.28.hook_mlp_out"));
        store.publish(run, "409600", local, Map.of("tokens", 409600L));
        overwrite(run, "409600", "mlp28-c1/sae_weights.safetensors", SaeCheckpointDirs.flipOneByte(read("409600", "mlp28-c1/sae_weights.safetensors")));

        assertThatThrownBy(() -> store.pull(run, "409600", "mlp28-c1", temp.resolve("pulled")))
                .isInstanceOf(CorruptCheckpointException.class).hasMessageContaining("mlp28-c1/sae_weights.safetensors has sha256");
        assertThat(temp.resolve("pulled/sae_weights.safetensors")).doesNotExist();
    }

    @Test
    void theFilesAskedForArePulledVerifiedAndNoOthers() throws Exception {
        store.publish(run, "409600", checkpointDir(409600), Map.of("tokens", 409600L));
        overwrite(run, "409600", "sparsity.safetensors", SaeCheckpointDirs.flipOneByte(read("409600", "sparsity.safetensors")));

        Path pulled = store.pullFiles(run, "409600", path -> !path.equals("sparsity.safetensors"), temp.resolve("some"));

        assertThat(pulled.resolve("sae_weights.safetensors")).hasBinaryContent(read("409600", "sae_weights.safetensors"));
        assertThat(pulled.resolve("cfg.json")).exists();
        assertThat(pulled.resolve("sparsity.safetensors")).doesNotExist();
        assertThatThrownBy(() -> store.pullFiles(run, "409600", path -> true, temp.resolve("all")))
                .isInstanceOf(CorruptCheckpointException.class).hasMessageContaining("sparsity.safetensors has sha256");
    }

    @Test
    void checkpointsAreListedByTokensNotByName() throws IOException {
        publish("819200", 819200);
        publish("1228800", 1228800);
        publish("409600", 409600);
        publish("final_1228800", 1228800);

        assertThat(store.list(run)).extracting(CheckpointRef::name)
                .containsExactly("409600", "819200", "1228800", "final_1228800");
        assertThat(store.list("no-such-run")).isEmpty();
    }

    @Test
    void latestIsTheNewestCompleteCheckpoint() throws Exception {
        assertThat(store.latest(run)).isEmpty();
        publish("409600", 409600);
        publish("819200", 819200);
        placeWithoutManifest(run, "1228800", checkpointDir(1228800));

        try (LogCapture log = new LogCapture(CheckpointStore.class)) {
            assertThat(store.latest(run)).get().extracting(CheckpointRef::name).isEqualTo("819200");
            assertThat(log.warnings()).anySatisfy(w -> assertThat(w).contains(run + "/1228800", "incomplete"));
        }
        assertThat(store.list(run)).extracting(CheckpointRef::name, CheckpointRef::complete)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("409600", true), org.assertj.core.groups.Tuple.tuple("819200", true),
                        org.assertj.core.groups.Tuple.tuple("1228800", false));
    }

    @Test
    void aCorruptedFileMakesLatestFallBackToThePreviousCheckpointWithAWarningNamingIt() throws Exception {
        publish("409600", 409600);
        publish("819200", 819200);
        CheckpointRef newest = publish("1228800", 1228800);
        overwrite(run, "1228800", "sae_weights.safetensors", SaeCheckpointDirs.flipOneByte(read("1228800", "sae_weights.safetensors")));

        assertThat(store.list(run)).extracting(CheckpointRef::complete).containsOnly(true); // same size: only sha256 tells
        assertThat(store.verify(run, "1228800")).singleElement().asString()
                .startsWith("sae_weights.safetensors has sha256 ").contains("the manifest says");
        try (LogCapture log = new LogCapture(CheckpointStore.class)) {
            Optional<CheckpointRef> latest = store.latest(run);

            assertThat(latest).get().extracting(CheckpointRef::name).isEqualTo("819200");
            assertThat(log.warnings()).singleElement().asString()
                    .contains(newest.uri(), "fails verification", "sae_weights.safetensors");
        }
        assertThatThrownBy(() -> store.pull(run, "1228800", temp.resolve("pulled")))
                .isInstanceOf(CorruptCheckpointException.class)
                .hasMessageContaining(newest.uri()).hasMessageContaining("sae_weights.safetensors has sha256");
        assertThat(temp.resolve("pulled/sae_weights.safetensors")).doesNotExist();
    }

    @Test
    void retentionKeepsTheLastCompleteCheckpointsAndTheFinalOne() throws Exception {
        for (long tokens = 409600; tokens <= 2048000; tokens += 409600) {
            publish(Long.toString(tokens), tokens);
        }
        publish("final_2048000", 2048000);
        placeWithoutManifest(run, "204800", checkpointDir(204800)); // a leftover older than the newest complete one

        store.retain(run, 2);

        assertThat(store.list(run)).extracting(CheckpointRef::name).containsExactly("1638400", "2048000", "final_2048000");
        store.retain(run, 2);
        assertThat(store.list(run)).extracting(CheckpointRef::name).containsExactly("1638400", "2048000", "final_2048000");
    }

    @Test
    void retentionNeverDeletesTheLatestVerifiedCheckpoint() throws Exception {
        publish("409600", 409600);
        publish("819200", 819200);
        publish("1228800", 1228800);
        overwrite(run, "1228800", "sparsity.safetensors", SaeCheckpointDirs.flipOneByte(read("1228800", "sparsity.safetensors")));
        placeWithoutManifest(run, "1638400", checkpointDir(1638400)); // newer and incomplete: may be uploading

        store.retain(run, 1);

        assertThat(store.list(run)).extracting(CheckpointRef::name).containsExactly("819200", "1228800", "1638400");
        assertThat(store.latest(run)).get().extracting(CheckpointRef::name).isEqualTo("819200");
    }

    @Test
    void theManifestRecordsTheWritersNamespaceNameUidAndAttempt() throws Exception {
        RunIdentity writer = new RunIdentity("ns-a", run, "uid-a", 3);

        store.publish(writer, "409600", checkpointDir(409600), Map.of("tokens", 409600L));

        CheckpointManifest manifest = store.manifest(run, "409600").orElseThrow();
        assertThat(manifest.writer()).isEqualTo(writer);
        assertThat(manifest.run()).isEqualTo(run);
        assertThat(store.latest(run, w -> "uid-a".equals(w.uid()))).get().extracting(CheckpointRef::name).isEqualTo("409600");
        assertThat(store.latest(run, w -> "uid-b".equals(w.uid()))).isEmpty();
    }

    @Test
    void aSupersededAttemptNeverPublishesItsCheckpointAsTheLatest() throws Exception {
        RunIdentity first = new RunIdentity("ns-a", run, "uid-a", 1);
        RunIdentity second = new RunIdentity("ns-a", run, "uid-a", 2);
        try (CheckpointStore other = openStore()) { // the second attempt's trainer, in another process
            store.claim(first);
            store.publish(first, "409600", checkpointDir(409600), Map.of("tokens", 409600L));
            other.claim(second);

            assertThatThrownBy(() -> store.publish(first, "819200", checkpointDir(819200), Map.of("tokens", 819200L)))
                    .isInstanceOf(SupersededWriterException.class)
                    .hasMessageContaining("attempt 1 of run ns-a/" + run).hasMessageContaining("attempt 2 of this run has started since");
            assertThat(store.latest(run)).get().extracting(CheckpointRef::name).isEqualTo("409600");
            assertThatThrownBy(() -> store.claim(first)).as("a restarted pod of the old attempt")
                    .isInstanceOf(SupersededWriterException.class);

            other.publish(second, "819200", checkpointDir(819200), Map.of("tokens", 819200L));
            assertThat(store.latest(run)).get().extracting(CheckpointRef::name).isEqualTo("819200");
            assertThat(store.manifest(run, "819200")).get().extracting(CheckpointManifest::writer).isEqualTo(second);
        }
    }

    @Test
    void aRunCreatedAgainUnderTheSameNameTakesTheLocationOverFromTheDeletedOne() throws Exception {
        RunIdentity deleted = new RunIdentity("ns-a", run, "uid-a", 4);
        RunIdentity created = new RunIdentity("ns-a", run, "uid-b", 1);
        store.claim(deleted);

        store.claim(created);

        assertThatThrownBy(() -> store.publish(deleted, "409600", checkpointDir(409600), Map.of("tokens", 409600L)))
                .isInstanceOf(SupersededWriterException.class).hasMessageContaining("(uid uid-b) has taken it over");
        store.publish(created, "409600", checkpointDir(409600), Map.of("tokens", 409600L));
        assertThat(store.manifest(run, "409600")).get().extracting(CheckpointManifest::writer).isEqualTo(created);
    }

    @Test
    void publishingTheSameFilesAgainIsANoOpAndDifferentFilesAreRefused() throws IOException {
        Path local = checkpointDir(409600);
        Path again = copyOf(local);
        CheckpointRef first = store.publish(run, "409600", local, Map.of("tokens", 409600L));

        CheckpointRef second = store.publish(run, "409600", again, Map.of("tokens", 409600L));

        assertThat(second.created()).isEqualTo(first.created());
        assertThatThrownBy(() -> store.publish(run, "409600", checkpointDir(819200), Map.of("tokens", 409600L)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(first.uri()).hasMessageContaining("already published with different files");
    }

    @Test
    void republishingOverACorruptedCheckpointReplacesIt() throws Exception {
        Path local = checkpointDir(409600);
        Path again = copyOf(local);
        store.publish(run, "409600", local, Map.of("tokens", 409600L));
        overwrite(run, "409600", "cfg.json", SaeCheckpointDirs.flipOneByte(read("409600", "cfg.json")));
        assertThat(store.verify(run, "409600")).isNotEmpty();

        store.publish(run, "409600", again, Map.of("tokens", 409600L));

        assertThat(store.verify(run, "409600")).isEmpty();
        assertThat(store.latest(run)).get().extracting(CheckpointRef::name).isEqualTo("409600");
    }

    @Test
    void anIncompleteCheckpointIsReplacedByAPublish() throws Exception {
        placeWithoutManifest(run, "409600", checkpointDir(1));

        store.publish(run, "409600", checkpointDir(409600), Map.of("tokens", 409600L));

        assertThat(store.list(run)).singleElement().extracting(CheckpointRef::complete).isEqualTo(true);
        assertThat(store.verify(run, "409600")).isEmpty();
    }

    @Test
    void badNamesAndDirectoriesAreRefusedWithWhatWasExpected() throws IOException {
        Path local = checkpointDir(409600);
        assertThatThrownBy(() -> store.publish(run, "../escape", local, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("checkpoint \"../escape\" is not a valid name");
        assertThatThrownBy(() -> store.list("a/b"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("run \"a/b\" is not a valid name");
        assertThatThrownBy(() -> store.publish(run, "1", temp.resolve("missing"), Map.of()))
                .isInstanceOf(IOException.class).hasMessageContaining("missing is not a directory");
        Path empty = Files.createDirectories(temp.resolve("empty"));
        assertThatThrownBy(() -> store.publish(run, "1", empty, Map.of()))
                .isInstanceOf(IOException.class).hasMessageContaining("holds no files");
        assertThatThrownBy(() -> store.pull(run, "409600", temp.resolve("pulled")))
                .isInstanceOf(IOException.class).hasMessageContaining("is not complete: it has no manifest.json");
        assertThat(store.list(run)).isEmpty();
    }

    /** A local report directory: its page, its data and a file in a sub-directory, each saying {@code version}. */
    Path reportDir(String version, boolean withData) throws IOException {
        Path dir = Files.createDirectories(temp.resolve("report-" + UUID.randomUUID()));
        Files.writeString(dir.resolve("index.html"), "<html>" + version + "</html>");
        if (withData) {
            Files.writeString(dir.resolve("report.json"), "{\"version\": \"" + version + "\"}");
        }
        Files.createDirectories(dir.resolve("cards"));
        Files.writeString(dir.resolve("cards/mlp28.svg"), "<svg>" + version + "</svg>");
        return dir;
    }

    @Test
    void aReportGoesBesideACompleteCheckpointWhichStaysAsItWasForVerifyListLatestAndPull() throws Exception {
        CheckpointRef published = publish("final_409600", 409600);
        CheckpointManifest before = store.manifest(run, "final_409600").orElseThrow();

        String uri = store.putReport(run, "final_409600", reportDir("first", true));

        assertThat(uri).isEqualTo(published.uri() + "/report/index.html");
        assertThat(new String(read("final_409600", "report/index.html"))).isEqualTo("<html>first</html>");
        assertThat(new String(read("final_409600", "report/report.json"))).isEqualTo("{\"version\": \"first\"}");
        assertThat(new String(read("final_409600", "report/cards/mlp28.svg"))).isEqualTo("<svg>first</svg>");
        assertThat(store.manifest(run, "final_409600")).contains(before);
        assertThat(store.verify(run, "final_409600")).isEmpty();
        assertThat(store.list(run)).singleElement().satisfies(listed -> {
            assertThat(listed.complete()).isTrue();
            assertThat(listed.bytes()).isEqualTo(published.bytes());
        });
        assertThat(store.latest(run)).get().extracting(CheckpointRef::name).isEqualTo("final_409600");
        Path pulled = store.pull(run, "final_409600", temp.resolve("pulled"));
        assertThat(pulled.resolve("cfg.json")).exists();
        assertThat(pulled.resolve("report")).as("the report is not part of the checkpoint").doesNotExist();
        assertThat(store.publish(run, "final_409600", checkpointDir(409600), Map.of("tokens", 409600L, "step", 100L)).created())
                .as("publishing the same files again").isEqualTo(published.created());
        assertThat(new String(read("final_409600", "report/index.html"))).isEqualTo("<html>first</html>");
    }

    @Test
    void aNewReportReplacesTheOldOneLeavingNoneOfItsFiles() throws Exception {
        publish("final_409600", 409600);
        store.putReport(run, "final_409600", reportDir("first", true));

        store.putReport(run, "final_409600", reportDir("second", false));

        assertThat(new String(read("final_409600", "report/index.html"))).isEqualTo("<html>second</html>");
        assertThat(new String(read("final_409600", "report/cards/mlp28.svg"))).isEqualTo("<svg>second</svg>");
        assertThatThrownBy(() -> read("final_409600", "report/report.json")).isInstanceOf(NoSuchFileException.class);
        assertThat(store.verify(run, "final_409600")).isEmpty();
    }

    @Test
    void retentionDeletesAReportWithItsCheckpoint() throws Exception {
        publish("409600", 409600);
        store.putReport(run, "409600", reportDir("old", true));
        publish("819200", 819200);

        store.retain(run, 1);

        assertThat(store.list(run)).extracting(CheckpointRef::name).containsExactly("819200");
        assertThatThrownBy(() -> read("409600", "report/index.html")).isInstanceOf(NoSuchFileException.class);
        publish("409600", 409600);
        assertThat(store.verify(run, "409600")).isEmpty();
        assertThatThrownBy(() -> read("409600", "report/index.html")).as("a checkpoint of that name again has no report")
                .isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void aReportIsRefusedBesideAnIncompleteCheckpointWithoutAPageOrWhereAnSaeIsNamedReport() throws Exception {
        placeWithoutManifest(run, "409600", checkpointDir(409600));
        assertThatThrownBy(() -> store.putReport(run, "409600", reportDir("x", true)))
                .isInstanceOf(IOException.class).hasMessageContaining(run + "/409600 is not complete");
        publish("819200", 819200);
        Path withoutPage = reportDir("x", true);
        Files.delete(withoutPage.resolve("index.html"));
        assertThatThrownBy(() -> store.putReport(run, "819200", withoutPage))
                .isInstanceOf(IOException.class).hasMessageEndingWith("holds no index.html; expected a report directory");
        store.publish(run, "1228800", SaeCheckpointDirs.writeSeveral(temp.resolve("several"), D_IN, D_SAE, 1228800,
                Map.of("report", "blocks.0.hook_resid_post", "mlp1", "blocks.1.hook_mlp_out")), Map.of("tokens", 1228800L));
        assertThatThrownBy(() -> store.putReport(run, "1228800", reportDir("x", true)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("an SAE named report");
        assertThat(store.verify(run, "1228800")).isEmpty();
        assertThatThrownBy(() -> read("819200", "report/index.html")).isInstanceOf(NoSuchFileException.class);
    }

    byte[] read(String name, String file) throws IOException {
        try (InputStream in = store.read(run, name, file)) {
            return in.readAllBytes();
        }
    }

    Path copyOf(Path dir) throws IOException {
        Path copy = Files.createDirectories(temp.resolve("copy-" + UUID.randomUUID()));
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                Files.copy(file, copy.resolve(file.getFileName()));
            }
        }
        return copy;
    }
}
