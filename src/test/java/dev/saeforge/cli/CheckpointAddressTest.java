package dev.saeforge.cli;

import dev.saeforge.api.RunIdentity;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.S3MockServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * One address syntax for checkpoints: a bare RUN[/NAME[/SAE]] counted in --store, and a URI whose
 * segments what is stored tells apart, in a file store and an S3 bucket holding the same runs: toy
 * (409600, 819200, final_819200 and an incomplete 1228800), a run of three SAEs, and a cluster run
 * under its namespace.
 */
class CheckpointAddressTest {
    @RegisterExtension
    static final S3MockServer S3 = new S3MockServer("ckpt");

    @TempDir
    static Path temp;

    static String fileStore;
    static final String S3_STORE = "s3://ckpt/team/runs";
    static final RunIdentity CLUSTER_RUN = new RunIdentity("team-a", "l28", "5f0c-uid", 1);

    @BeforeAll
    static void publishRuns() throws IOException {
        fileStore = temp.resolve("runs").toUri().toString().replaceAll("/$", "");
        for (String location : List.of(fileStore, S3_STORE)) {
            try (CheckpointStore store = open(location)) {
                publishToy(store, temp.resolve(location.substring(0, 2)));
                CheckpointsCommandTest.publishSeveral(store, temp.resolve(location.substring(0, 2) + "-several"));
            }
            try (CheckpointStore store = open(CLUSTER_RUN.checkpointLocation(location))) {
                store.publish(CLUSTER_RUN, "409600", CheckpointsCommandTest.checkpoint(temp.resolve(location.substring(0, 2) + "-l28"), 409600),
                        Map.of("tokens", 409600, "step", 100));
            }
        }
        // A newer checkpoint still uploading: files, no manifest.
        Files.createDirectories(temp.resolve("runs/toy/1228800"));
        Files.writeString(temp.resolve("runs/toy/1228800/cfg.json"), "{}");
    }

    /** Run toy: two periodic checkpoints and the final one, published out of order. */
    static void publishToy(CheckpointStore store, Path dir) throws IOException {
        store.publish("toy", "final_819200", CheckpointsCommandTest.checkpoint(dir.resolve("final"), 819200),
                Map.of("tokens", 819200, "step", 200, "final", true));
        store.publish("toy", "409600", CheckpointsCommandTest.checkpoint(dir.resolve("a"), 409600), Map.of("tokens", 409600, "step", 100));
        store.publish("toy", "819200", CheckpointsCommandTest.checkpoint(dir.resolve("b"), 819200), Map.of("tokens", 819200, "step", 200));
    }

    static CheckpointStore open(String location) throws IOException {
        return CheckpointStore.open(location, S3.env());
    }

    static CheckpointAddress resolve(String argument) throws IOException {
        return CheckpointAddress.resolve(argument, "runs", CheckpointAddressTest::open);
    }

    /** The name of the checkpoint (and SAE) an address finds in its store. */
    static String found(String argument) throws IOException {
        CheckpointAddress address = resolve(argument);
        try (CheckpointStore store = open(address.store())) {
            CheckpointAddress.Target target = address.find(store);
            return target.checkpoint().name() + (target.sae() == null ? "" : "/" + target.sae().name());
        }
    }

    @Test
    void aBareRunCheckpointOrSaeIsCountedInTheGivenStoreWithoutLookingIntoIt() throws IOException {
        CheckpointAddress.StoreOpener none = location -> {
            throw new AssertionError("opened " + location);
        };
        assertThat(CheckpointAddress.resolve("toy", "runs", none)).isEqualTo(new CheckpointAddress("runs", "toy", null, null));
        assertThat(CheckpointAddress.resolve("toy/409600", "s3://b/p", none)).isEqualTo(new CheckpointAddress("s3://b/p", "toy", "409600", null));
        assertThat(CheckpointAddress.resolve("toy/best/1/", "runs", none)).isEqualTo(new CheckpointAddress("runs", "toy", "best", "1"));
    }

    @Test
    void aUriOfARunACheckpointOrAnSaeIsToldApartByWhatIsStored() throws IOException {
        for (String store : List.of(fileStore, S3_STORE)) {
            assertThat(resolve(store + "/toy/")).isEqualTo(new CheckpointAddress(store, "toy", null, null));
            assertThat(resolve(store + "/toy/409600")).isEqualTo(new CheckpointAddress(store, "toy", "409600", null));
            assertThat(resolve(store + "/" + CheckpointsCommandTest.SEVERAL + "/409600/resid20"))
                    .isEqualTo(new CheckpointAddress(store, CheckpointsCommandTest.SEVERAL, "409600", "resid20"));
            assertThat(resolve(store + "/toy/final_819200/toy")).as("a single-SAE checkpoint's SAE is named after the run")
                    .isEqualTo(new CheckpointAddress(store, "toy", "final_819200", "toy"));
            assertThat(resolve(store + "/team-a/l28")).as("a cluster run, under its namespace")
                    .isEqualTo(new CheckpointAddress(store + "/team-a", "l28", null, null));
            assertThat(resolve(store + "/team-a/l28/409600")).isEqualTo(new CheckpointAddress(store + "/team-a", "l28", "409600", null));
        }
    }

    @Test
    void aRunMeansItsNewestCompleteCheckpointTheFinalOneAfterAPeriodicOneOfTheSameCount() throws IOException {
        for (String store : List.of(fileStore, S3_STORE)) {
            assertThat(found(store + "/toy")).isEqualTo("final_819200");
            assertThat(found(store + "/toy/409600")).isEqualTo("409600");
            assertThat(found(store + "/toy/409600/toy")).isEqualTo("409600/toy");
            assertThat(found(store + "/" + CheckpointsCommandTest.SEVERAL + "/409600/mlp28-c3")).isEqualTo("409600/mlp28-c3");
        }
        assertThat(CheckpointAddress.newestComplete(List.of(ref("409600", true), ref("819200", true), ref("1228800", false))))
                .map(CheckpointRef::name).contains("819200");
        assertThat(CheckpointAddress.newestComplete(List.of(ref("409600", false)))).isEmpty();
    }

    private static CheckpointRef ref(String name, boolean complete) {
        return new CheckpointRef("toy", name, "file:///runs/toy/" + name, complete, java.time.Instant.EPOCH, 1, Map.of());
    }

    @Test
    void whatIsNotStoredIsRefusedSayingWhatWasLookedForWhere() throws IOException {
        for (String store : List.of(fileStore, S3_STORE)) {
            assertThatThrownBy(() -> found(store + "/toy/1"))
                    .hasMessage("run toy in " + store + " has no checkpoint 1; it has 409600, 819200, final_819200"
                            + (store.equals(fileStore) ? ", 1228800 (incomplete)" : ""));
            assertThatThrownBy(() -> found(store + "/toy/409600/other")).hasMessage("checkpoint " + store + "/toy/409600 has no SAE other; it has toy");
            assertThatThrownBy(() -> found(store + "/" + CheckpointsCommandTest.SEVERAL + "/409600/mlp28-c2"))
                    .hasMessageEndingWith("has no SAE mlp28-c2; it has mlp28-c1, mlp28-c3, resid20");
            assertThatThrownBy(() -> resolve(store + "/nothing-here"))
                    .hasMessageStartingWith("nothing is stored at " + store + "/nothing-here: it is not a checkpoint (no manifest.json there),"
                            + " nor a run (no checkpoints in it), nor an SAE of a checkpoint (no manifest.json in its parent); expected RUN,");
        }
        assertThatThrownBy(() -> found("toy"))
                .hasMessageStartingWith("run toy in ").hasMessageEndingWith("runs has no complete checkpoint; it has no checkpoints at all");
    }

    @Test
    void aRunWhoseCheckpointsAreAllIncompleteHasNoneToTake() throws IOException {
        Path dir = Files.createDirectories(temp.resolve("partial/runs/half/409600"));
        Files.writeString(dir.resolve("cfg.json"), "{}");

        assertThatThrownBy(() -> found(temp.resolve("partial/runs/half").toUri().toString()))
                .hasMessage("run half in " + temp.resolve("partial/runs").toUri().toString().replaceAll("/$", "")
                        + " has no complete checkpoint; it has 409600 (incomplete)");
    }

    @Test
    void malformedAddressesAreRefusedWithTheFormsExpected() {
        assertThatThrownBy(() -> resolve("a/b/c/d"))
                .hasMessage("\"a/b/c/d\" is not an address; expected RUN, RUN/NAME or RUN/NAME/SAE (in the --store location) or a URI such as"
                        + " s3://BUCKET/PREFIX/RUN[/NAME[/SAE]] or file:///PATH/RUN[/NAME[/SAE]]");
        assertThatThrownBy(() -> resolve("toy//mlp28-c1")).hasMessageStartingWith("\"toy//mlp28-c1\" is not an address");
        assertThatThrownBy(() -> resolve(S3_STORE + "//toy")).hasMessageStartingWith("\"" + S3_STORE + "//toy\" has an empty segment (//)");
    }
}
