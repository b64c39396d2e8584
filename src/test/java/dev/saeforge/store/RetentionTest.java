package dev.saeforge.store;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** Which checkpoints retention deletes, and the order listings use. */
class RetentionTest {
    static CheckpointRef ref(String name, boolean complete) {
        return new CheckpointRef("r", name, "file:///runs/r/" + name, complete, Instant.EPOCH, 1, Map.of());
    }

    static List<String> deleted(List<CheckpointRef> refs, int keepLast, String latest) {
        return Retention.toDelete(refs, keepLast, Optional.ofNullable(latest)).stream().map(CheckpointRef::name).toList();
    }

    @Test
    void keepsTheNewestCompleteOnesAndEveryFinal() {
        List<CheckpointRef> refs = List.of(ref("1", true), ref("2", true), ref("3", true), ref("4", true), ref("final_4", true));

        assertThat(deleted(refs, 2, "final_4")).as("the final one is kept besides the 2").containsExactly("1", "2");
        assertThat(deleted(refs, 0, "final_4")).containsExactly("1", "2", "3", "4");
        assertThat(deleted(refs, 10, "final_4")).isEmpty();
    }

    @Test
    void onlyWhatTheTrainerNamesCheckpointsIsEverDeleted() {
        // A local run named like a namespace lists that namespace's runs among its checkpoints.
        List<CheckpointRef> refs = List.of(ref("l28", false), ref("l29", true), ref("1", true), ref("2", true));

        assertThat(deleted(refs, 1, "2")).containsExactly("1");
        assertThat(deleted(refs, 0, "2")).containsExactly("1");
    }

    @Test
    void incompleteOnesGoOnlyWhenOlderThanTheNewestCompleteOne() {
        List<CheckpointRef> refs = List.of(ref("1", false), ref("2", true), ref("3", true), ref("4", false));

        assertThat(deleted(refs, 1, "3")).containsExactly("1", "2");
    }

    @Test
    void theLatestVerifiedOneIsKeptWhenNewerOnesFailVerification() {
        List<CheckpointRef> refs = List.of(ref("1", true), ref("2", true), ref("3", true));

        assertThat(deleted(refs, 1, "1")).containsExactly("2");
    }

    @Test
    void listingsOrderByTokensThenStepNotByName() {
        CheckpointRef early = new CheckpointRef("r", "819200", "u", true, Instant.EPOCH, 1, Map.of("tokens", 819200, "step", 200));
        CheckpointRef late = new CheckpointRef("r", "1228800", "u", true, Instant.EPOCH, 1, Map.of("tokens", 1228800, "step", 300));
        CheckpointRef last = new CheckpointRef("r", "final_1228800", "u", true, Instant.EPOCH, 1, Map.of("tokens", 1228800, "step", 300));
        CheckpointRef unnamed = new CheckpointRef("r", "409600", "u", false, Instant.EPOCH, 1, Map.of());

        assertThat(java.util.stream.Stream.of(last, late, unnamed, early).sorted(CheckpointRef.OLDEST_FIRST).map(CheckpointRef::name))
                .containsExactly("409600", "819200", "1228800", "final_1228800");
        assertThat(unnamed.tokens()).hasValue(409600);
        assertThat(last.isFinal()).isTrue();
    }
}
