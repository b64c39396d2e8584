package dev.saeforge.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Which checkpoints retention deletes: a pure function of the listing, so it is tested on its own. */
final class Retention {
    private Retention() {
    }

    /**
     * From {@code listed} (oldest first), the checkpoints to delete when keeping the newest {@code keepLast}
     * complete ones besides the final_* ones, every final_* one, {@code latest} (the newest verified one) and any incomplete
     * one newer than the newest complete one (it may be uploading right now). Only what the trainer
     * names checkpoints ({@link CheckpointRef#isTokensName}) is ever deleted: another directory in
     * the run's location (a namespace's run, for a local run named like the namespace) is not one.
     */
    static List<CheckpointRef> toDelete(List<CheckpointRef> listed, int keepLast, Optional<String> latest) {
        if (keepLast < 0) {
            throw new IllegalArgumentException("keepLast is " + keepLast + "; expected >= 0");
        }
        List<CheckpointRef> oldestFirst = listed.stream().filter(ref -> CheckpointRef.isTokensName(ref.name())).toList();
        int newestComplete = -1;
        for (int i = 0; i < oldestFirst.size(); i++) {
            if (oldestFirst.get(i).complete()) {
                newestComplete = i;
            }
        }
        List<CheckpointRef> doomed = new ArrayList<>();
        int keptComplete = 0;
        for (int i = oldestFirst.size() - 1; i >= 0; i--) {
            CheckpointRef ref = oldestFirst.get(i);
            boolean alwaysKept = ref.isFinal() || latest.filter(ref.name()::equals).isPresent();
            if (ref.complete() && !ref.isFinal() && keptComplete < keepLast) {
                keptComplete++;
            } else if (!alwaysKept && (ref.complete() || i < newestComplete)) {
                doomed.add(ref);
            }
        }
        return doomed.reversed();
    }
}
