package dev.saeforge.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Which checkpoints retention deletes: a pure function of the listing, so it is tested on its own. */
final class Retention {
    private Retention() {
    }

    /**
     * From {@code oldestFirst}, the checkpoints to delete when keeping the newest {@code keepLast}
     * complete ones, every final_* one, {@code latest} (the newest verified one) and any incomplete
     * one newer than the newest complete one (it may be uploading right now).
     */
    static List<CheckpointRef> toDelete(List<CheckpointRef> oldestFirst, int keepLast, Optional<String> latest) {
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
            if (ref.complete() && keptComplete < keepLast) {
                keptComplete++;
            } else if (!alwaysKept && (ref.complete() || i < newestComplete)) {
                doomed.add(ref);
            }
        }
        return doomed.reversed();
    }
}
