package dev.saeforge.cli;

import dev.saeforge.store.CheckpointManifest;
import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointSae;
import dev.saeforge.store.CheckpointStore;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A run, one checkpoint of it, or one SAE of a checkpoint, as named on the command line:
 * {@code RUN}, {@code RUN/NAME} or {@code RUN/NAME/SAE} in the store given by --store, or a full
 * URI whose last segments are those: {@code s3://BUCKET/PREFIX/RUN[/NAME[/SAE]]},
 * {@code file:///PATH/RUN[/NAME[/SAE]]}. {@code name} and {@code sae} are null when not given.
 * <p>
 * A URI does not say where its store ends, so what is stored settles it ({@link #resolve}): a
 * directory with a manifest is a checkpoint, one holding checkpoints is a run, and a segment
 * after a checkpoint names an SAE. Every command that takes a checkpoint (checkpoints
 * list|inspect|pull, and whatever reads or publishes one) resolves its argument here and finds
 * what it names with {@link #find}, so one address means the same everywhere.
 */
record CheckpointAddress(String store, String run, String name, String sae) {
    /** The forms an address takes, for messages. */
    static final String FORMS = "RUN, RUN/NAME or RUN/NAME/SAE (in the --store location) or a URI such as"
            + " s3://BUCKET/PREFIX/RUN[/NAME[/SAE]] or file:///PATH/RUN[/NAME[/SAE]]";

    /** Opens the store at a location; tests give the environment, commands the process's. */
    interface StoreOpener {
        CheckpointStore open(String location) throws IOException;
    }

    /** What an address names: a checkpoint, and one SAE in it or (sae null) all of them. */
    record Target(CheckpointRef checkpoint, CheckpointSae sae) {
        String uri() {
            return sae == null ? checkpoint.uri() : sae.uri();
        }

        /** Whether the checkpoint file at {@code path} is part of what is named. */
        boolean holds(String path) {
            return sae == null || sae.holds(path);
        }

        /** The manifest's files that are part of what is named. */
        List<CheckpointManifest.FileEntry> files(Optional<CheckpointManifest> manifest) {
            return manifest.map(m -> m.files().stream().filter(file -> holds(file.path())).toList()).orElse(List.of());
        }
    }

    /**
     * The address {@code argument} names: a bare RUN[/NAME[/SAE]] in {@code defaultStore}, its
     * segments counted, or a URI whose segments are told apart by what {@code stores} holds there.
     * An argument of neither form, or a URI under which nothing is stored, is an
     * IllegalArgumentException saying what was looked for where.
     */
    static CheckpointAddress resolve(String argument, String defaultStore, StoreOpener stores) throws IOException {
        String trimmed = argument.replaceAll("/+$", "");
        int scheme = trimmed.indexOf("://");
        if (scheme >= 0) {
            return resolveUri(argument, trimmed.substring(0, scheme + 3), trimmed.substring(scheme + 3).split("/", -1), stores);
        }
        String[] segments = trimmed.split("/", -1);
        if (segments.length > 3 || Arrays.asList(segments).contains("")) {
            throw new IllegalArgumentException("\"" + argument + "\" is not an address; expected " + FORMS);
        }
        return new CheckpointAddress(defaultStore, segments[0], segments.length > 1 ? segments[1] : null, segments.length > 2 ? segments[2] : null);
    }

    /**
     * Walks from the whole path to shorter ones: {@code parts} is a checkpoint when it holds a
     * manifest, a run when it holds checkpoints, and an SAE when its parent is a checkpoint. The
     * store keeps at least the first part (the bucket, or the first directory of the path).
     */
    private static CheckpointAddress resolveUri(String argument, String scheme, String[] parts, StoreOpener stores) throws IOException {
        int n = parts.length;
        if (Arrays.asList(parts).subList(1, n).contains("")) {
            throw new IllegalArgumentException("\"" + argument + "\" has an empty segment (//); expected " + FORMS);
        }
        if (n >= 3 && isCheckpoint(stores, scheme, parts, n - 2)) {
            return new CheckpointAddress(store(scheme, parts, n - 2), parts[n - 2], parts[n - 1], null);
        }
        if (n >= 2 && holdsCheckpoints(stores, scheme, parts, n - 1)) {
            return new CheckpointAddress(store(scheme, parts, n - 1), parts[n - 1], null, null);
        }
        if (n >= 4 && isCheckpoint(stores, scheme, parts, n - 3)) {
            return new CheckpointAddress(store(scheme, parts, n - 3), parts[n - 3], parts[n - 2], parts[n - 1]);
        }
        if (n >= 3 && holdsCheckpoints(stores, scheme, parts, n - 2)) {
            // The parent is a run without this checkpoint: find says which checkpoints it has.
            return new CheckpointAddress(store(scheme, parts, n - 2), parts[n - 2], parts[n - 1], null);
        }
        throw new IllegalArgumentException("nothing is stored at " + argument + ": it is not a checkpoint (no "
                + CheckpointManifest.FILE_NAME + " there), nor a run (no checkpoints in it), nor an SAE of a checkpoint (no "
                + CheckpointManifest.FILE_NAME + " in its parent); expected " + FORMS);
    }

    /** The store made of the first {@code length} parts of a URI. */
    private static String store(String scheme, String[] parts, int length) {
        return scheme + String.join("/", Arrays.asList(parts).subList(0, length));
    }

    /** Whether parts {@code [storeLength]} and {@code [storeLength + 1]} are a run and a checkpoint of it with a manifest. */
    private static boolean isCheckpoint(StoreOpener stores, String scheme, String[] parts, int storeLength) throws IOException {
        String run = parts[storeLength];
        String name = parts[storeLength + 1];
        return CheckpointStore.isName(run) && CheckpointStore.isName(name) && probe(stores, scheme, parts, storeLength, store -> store.manifest(run, name).isPresent());
    }

    /**
     * Whether part {@code [storeLength]} is a run: it holds a checkpoint with a manifest or named
     * as the trainer names them (a sub-directory of a checkpoint of several SAEs is neither).
     */
    private static boolean holdsCheckpoints(StoreOpener stores, String scheme, String[] parts, int storeLength) throws IOException {
        String run = parts[storeLength];
        return CheckpointStore.isName(run) && probe(stores, scheme, parts, storeLength,
                store -> store.list(run).stream().anyMatch(ref -> !ref.info().isEmpty() || CheckpointRef.isTokensName(ref.name())));
    }

    /** A question asked of one candidate store. */
    private interface Probe {
        boolean test(CheckpointStore store) throws IOException;
    }

    private static boolean probe(StoreOpener stores, String scheme, String[] parts, int storeLength, Probe probe) throws IOException {
        if (isEmptyStore(parts, storeLength)) {
            return false;
        }
        try (CheckpointStore store = stores.open(store(scheme, parts, storeLength))) {
            return probe.test(store);
        }
    }

    /** Whether the store would be nothing but the scheme (file:///RUN: a run at the file system's root is not looked for). */
    private static boolean isEmptyStore(String[] parts, int storeLength) {
        return storeLength < 1 || storeLength == 1 && parts[0].isEmpty();
    }

    /**
     * The checkpoint (and SAE) this address names in {@code store}: for a run, its newest complete
     * checkpoint ({@link #newestComplete}). What is not there is an IllegalArgumentException
     * naming the store, run and checkpoint looked for and what there is instead.
     */
    Target find(CheckpointStore store) throws IOException {
        List<CheckpointRef> all = store.list(run);
        CheckpointRef ref = name == null ? newestComplete(all)
                .orElseThrow(() -> new IllegalArgumentException("run " + run + " in " + store.uri() + " has no complete checkpoint"
                        + (all.isEmpty() ? "; it has no checkpoints at all" : "; it has " + describe(all))))
                : all.stream().filter(r -> r.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("run " + run + " in " + store.uri() + " has no checkpoint "
                        + name + (all.isEmpty() ? "; it has no checkpoints at all" : "; it has " + describe(all))));
        if (sae == null) {
            return new Target(ref, null);
        }
        List<CheckpointSae> saes = CheckpointSae.of(ref);
        CheckpointSae found = saes.stream().filter(s -> s.name().equals(sae)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("checkpoint " + ref.uri() + " has no SAE " + sae
                        + (saes.isEmpty() ? "; it lists none (it has no manifest)"
                        : "; it has " + String.join(", ", saes.stream().map(CheckpointSae::name).toList()))));
        return new Target(ref, found);
    }

    /** The checkpoints' names, the incomplete ones marked. */
    private static String describe(List<CheckpointRef> all) {
        return String.join(", ", all.stream().map(ref -> ref.complete() ? ref.name() : ref.name() + " (incomplete)").toList());
    }

    /**
     * The checkpoint a run's address means: the newest complete one in {@code oldestFirst}
     * ({@link CheckpointRef#OLDEST_FIRST}: the most tokens, a final one after a periodic one of
     * the same count). Complete is the store's cheap check (manifest present, sizes match); pull
     * and inspect then verify sha256.
     */
    static Optional<CheckpointRef> newestComplete(List<CheckpointRef> oldestFirst) {
        return oldestFirst.reversed().stream().filter(CheckpointRef::complete).findFirst();
    }
}
