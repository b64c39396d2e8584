package dev.saeforge.store;

import dev.saeforge.api.RunIdentity;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The file backend: the contract, plus atomic publishing (nothing half-written is ever a checkpoint). */
class FileCheckpointStoreTest extends CheckpointStoreContract {

    Path root() {
        return temp.resolve("runs");
    }

    @Override
    CheckpointStore openStore() throws IOException {
        return CheckpointStore.open(root().toString(), Map.of());
    }

    @Override
    void overwrite(String run, String name, String file, byte[] bytes) throws IOException {
        Files.write(root().resolve(run).resolve(name).resolve(file), bytes);
    }

    @Override
    void placeWithoutManifest(String run, String name, Path dir) throws IOException {
        Files.createDirectories(root().resolve(run));
        Files.move(dir, root().resolve(run).resolve(name));
    }

    @Test
    void aTrainerStartingRemovesTheStagingCopiesACrashedWriterLeft() throws IOException {
        publish("409600", 409600);
        Path runDir = root().resolve(run);
        Path crashed = Files.createDirectories(runDir.resolve(".staging-819200-0b1d"));
        Files.write(crashed.resolve("sae_weights.safetensors"), new byte[1024]);

        store.claim(new RunIdentity(null, run, null, null));

        try (Stream<Path> entries = Files.list(runDir)) {
            assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("409600");
        }
    }

    @Test
    void aSupersededTrainerStartingLeavesTheCurrentAttemptsPublishAlone() throws IOException {
        store.claim(new RunIdentity("ns-a", run, "uid-a", 2));
        Path uploading = Files.createDirectories(root().resolve(run).resolve(".staging-819200-5c2e"));

        assertThatThrownBy(() -> store.claim(new RunIdentity("ns-a", run, "uid-a", 1))).isInstanceOf(SupersededWriterException.class);

        assertThat(uploading).exists();
    }

    @Test
    void everyFormOfLocationOpensTheSameDirectory() throws IOException {
        publish("409600", 409600);
        for (String location : List.of(root().toString(), "file://" + root(), root().toUri().toString())) {
            try (CheckpointStore other = CheckpointStore.open(location, Map.of())) {
                assertThat(other.uri()).isEqualTo(root().toUri().toString().replaceAll("/$", ""));
                assertThat(other.list(run)).extracting(CheckpointRef::name).containsExactly("409600");
            }
        }
    }

    @Test
    void publishingOnTheSameFileSystemMovesTheDirectoryInsteadOfCopying() throws IOException {
        Path local = checkpointDir(409600);
        Object inode = Files.readAttributes(local.resolve("sae_weights.safetensors"), "unix:ino").get("ino");

        store.publish(run, "409600", local, Map.of("tokens", 409600L));

        assertThat(local).doesNotExist();
        Path published = root().resolve(run).resolve("409600");
        assertThat(Files.readAttributes(published.resolve("sae_weights.safetensors"), "unix:ino").get("ino")).isEqualTo(inode);
        assertThat(store.verify(run, "409600")).isEmpty();
    }

    @Test
    void aStagingDirectoryLeftByACrashIsNeverACheckpointAndIsCleanedUpByTheNextPublish() throws IOException {
        Path runDir = Files.createDirectories(root().resolve(run));
        Path leftover = runDir.resolve(".staging-409600-0d9c6a52");
        Files.move(checkpointDir(409600), leftover); // files but no manifest yet: the moment of a crash

        assertThat(store.list(run)).isEmpty();
        assertThat(store.latest(run)).isEmpty();

        publish("409600", 409600);

        assertThat(leftover).doesNotExist();
        try (Stream<Path> children = Files.list(runDir)) {
            assertThat(children.map(p -> p.getFileName().toString())).containsExactly("409600");
        }
    }

    /**
     * A process that publishes checkpoint after checkpoint is killed with SIGKILL at arbitrary
     * moments; whatever it leaves, every checkpoint that is visible is complete and intact.
     */
    @Test
    void aPublisherKilledAtAnyMomentLeavesOnlyCompleteCheckpoints() throws Exception {
        int[] killDelaysMs = {0, 3, 11, 23, 41};
        for (int round = 0; round < killDelaysMs.length; round++) {
            int before = store.list(run).size();
            Process publisher = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), PublishLoop.class.getName(),
                    root().toString(), run, Integer.toString(round * 1000))
                    .redirectErrorStream(true).redirectOutput(temp.resolve("publisher-" + round + ".log").toFile()).start();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (store.list(run).size() == before && publisher.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            Thread.sleep(killDelaysMs[round]); // then kill at a different point of a later publish each round
            publisher.destroyForcibly();
            publisher.waitFor();
            assertThat(Files.readString(temp.resolve("publisher-" + round + ".log"))).doesNotContain("Exception");

            List<CheckpointRef> visible = store.list(run);
            assertThat(visible).isNotEmpty();
            for (CheckpointRef ref : visible) {
                assertThat(ref.complete()).as(ref.name()).isTrue();
                assertThat(store.verify(run, ref.name())).as(ref.name()).isEmpty();
            }
        }
        assertThat(store.latest(run)).isPresent();
    }
}
