package dev.saeforge.store;

import java.time.Instant;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One checkpoint of a run as a store lists it. {@code complete} means its manifest exists and every
 * file it names is present with the recorded size (the cheap check; {@link CheckpointStore#verify}
 * also compares sha256). {@code created}, {@code bytes} and {@code info} come from the manifest,
 * or from the files found when there is none.
 */
public record CheckpointRef(String run, String name, String uri, boolean complete, Instant created, long bytes,
                            Map<String, Object> info) {
    /** The prefix of SAELens' last checkpoint, {@code final_<tokens>}. */
    public static final String FINAL_PREFIX = "final_";
    private static final Pattern TOKENS_IN_NAME = Pattern.compile("(?:" + FINAL_PREFIX + ")?(\\d{1,18})");

    /**
     * Oldest first: by tokens trained, then step (both from the manifest, the tokens from a SAELens
     * name when there is no manifest), a final checkpoint after a periodic one at the same count,
     * then by creation time. Never by name alone: "819200" sorts before "409600" as text.
     */
    public static final Comparator<CheckpointRef> OLDEST_FIRST = Comparator
            .comparingLong((CheckpointRef ref) -> ref.tokens().orElse(-1))
            .thenComparingLong(ref -> ref.step().orElse(-1))
            .thenComparing(CheckpointRef::isFinal)
            .thenComparing(CheckpointRef::created)
            .thenComparing(CheckpointRef::name);

    public CheckpointRef {
        info = Collections.unmodifiableMap(new LinkedHashMap<>(info));
    }

    /** Whether {@code name} is one the trainer gives checkpoints: the tokens trained (409600) or final_<tokens>. */
    public static boolean isTokensName(String name) {
        return TOKENS_IN_NAME.matcher(name).matches();
    }

    /** Tokens trained: the manifest's {@code tokens}, else the count in a SAELens name. */
    public OptionalLong tokens() {
        if (info.get("tokens") instanceof Number tokens) {
            return OptionalLong.of(tokens.longValue());
        }
        Matcher m = TOKENS_IN_NAME.matcher(name);
        return m.matches() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
    }

    /** The optimizer step recorded in the manifest. */
    public OptionalLong step() {
        return info.get("step") instanceof Number step ? OptionalLong.of(step.longValue()) : OptionalLong.empty();
    }

    /** Whether this is the run's final checkpoint, which retention always keeps. */
    public boolean isFinal() {
        return name.startsWith(FINAL_PREFIX);
    }
}
