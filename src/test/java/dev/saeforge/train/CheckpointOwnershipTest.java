package dev.saeforge.train;

import dev.saeforge.api.RunIdentity;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRuns;
import dev.saeforge.store.CheckpointManifest;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointStore;
import dev.saeforge.store.SupersededWriterException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Whose checkpoints a trainer resumes from and keeps: its own run's (by uid), what spec.resumeFrom
 * names, the number spec.checkpoints.keep asks for, and nothing once a later attempt has started.
 */
class CheckpointOwnershipTest {
    static final String RUN = """
            apiVersion: saeforge.dev/v1alpha1
            kind: TrainingRun
            metadata: {name: l28}
            spec:
              synthetic: {features: 16, dIn: 8}
              sae: {dSae: 24}
              training: {tokens: 25600, batchSizeTokens: 256}
              checkpoints: {count: 8, keep: 2}
            """;

    @TempDir
    Path root;

    TrainingRunSpec spec;
    final List<CheckpointRef> published = new ArrayList<>();
    final List<Plan> started = new ArrayList<>();
    final TrainingListener listener = new TrainingListener() {
        @Override
        public void started(Plan plan) {
            started.add(plan);
        }

        @Override
        public void checkpointed(CheckpointRef checkpoint) {
            published.add(checkpoint);
        }
    };

    @BeforeEach
    void readTheSpec() throws Exception {
        spec = TrainingRuns.parse(RUN, "l28").get(0).getSpec();
    }

    Summary train(RunIdentity run, Long stopAfterSteps) throws Exception {
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            return Training.run(run, spec, store, new Training.Options(stopAfterSteps, new StopRequest()), listener);
        }
    }

    List<String> stored() throws Exception {
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            return store.list("l28").stream().map(CheckpointRef::name).toList();
        }
    }

    @Test
    void afterEveryCheckpointOnlyTheNewestTheSpecKeepsAndTheFinalOneRemain() throws Exception {
        train(new RunIdentity(null, "l28", null, null), null);

        List<String> periodic = published.stream().map(CheckpointRef::name).filter(name -> !name.startsWith("final_")).toList();
        assertThat(periodic).hasSize(8);
        assertThat(stored()).containsExactly(periodic.get(6), periodic.get(7), "final_25600");
    }

    @Test
    void stagingCopiesACrashedWriterLeftAreRemovedWhenTheTrainerStarts() throws Exception {
        Path crashed = Files.createDirectories(root.resolve("l28/.staging-12800-7e3a"));
        Files.write(crashed.resolve("sae_weights.safetensors"), new byte[4096]);

        train(new RunIdentity(null, "l28", null, null), 10L);

        try (Stream<Path> entries = Files.list(root.resolve("l28"))) {
            assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("2560");
        }
    }

    @Test
    void aRunCreatedAgainRefusesTheDeletedRunsCheckpointsUnlessResumeFromNamesOne() throws Exception {
        RunIdentity deleted = new RunIdentity("team-a", "l28", "uid-a", 1);
        RunIdentity created = new RunIdentity("team-a", "l28", "uid-b", 1);
        Summary stopped = train(deleted, 40L);
        String checkpoint = stopped.checkpoint();

        assertThatThrownBy(() -> train(created, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("checkpoint " + checkpoint + " was written by run l28 with uid uid-a, not by this one (uid uid-b)")
                .hasMessageContaining("set spec.resumeFrom: " + checkpoint);

        spec.resumeFrom = checkpoint;
        Summary finished = train(created, null);

        assertThat(finished.outcome()).isEqualTo(Summary.Outcome.COMPLETED);
        Plan resumed = started.getLast();
        assertThat(resumed.resumedFrom()).hasValue(checkpoint);
        assertThat(resumed.startStep()).isEqualTo(40);
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            assertThat(store.manifest("l28", "final_25600")).get().extracting(CheckpointManifest::writer).isEqualTo(created);
        }
    }

    @Test
    void anAttemptStartedAfterALaterOneIsRefusedBeforeItTrains() throws Exception {
        try (CheckpointStore store = CheckpointStore.open(root.toString())) {
            store.claim(new RunIdentity("team-a", "l28", "uid-a", 2));
        }

        assertThatThrownBy(() -> train(new RunIdentity("team-a", "l28", "uid-a", 1), null))
                .isInstanceOf(SupersededWriterException.class)
                .hasMessageContaining("attempt 2 of this run has started since");
        assertThat(started).isEmpty();
    }
}
