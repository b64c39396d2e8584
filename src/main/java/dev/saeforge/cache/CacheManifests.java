package dev.saeforge.cache;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Whether a cache is complete, read from its files: the top manifest when it exists, otherwise
 * every index's manifest and held_out's, assembled into the top manifest (and written, as the
 * last writer would have: its content follows from theirs, so concurrent assemblers write the
 * same bytes).
 */
public final class CacheManifests {
    private CacheManifests() {
    }

    /**
     * A cache's state: its manifest when complete, else what is missing (each entry names a file
     * or an index).
     */
    public record Completeness(Optional<CacheLayout.Info> info, Optional<CacheLayout.Manifest> manifest, List<String> missing) {
        public boolean complete() {
            return manifest.isPresent();
        }

        /** "index-00001-of-00004/manifest.json is missing; held_out/manifest.json is missing": for messages. */
        public String describe() {
            return String.join("; ", missing);
        }
    }

    /** The cache's {@value CacheLayout#INFO}, if it has one. */
    public static Optional<CacheLayout.Info> info(CacheFiles files) throws IOException {
        return files.readJson(CacheLayout.INFO, CacheLayout.Info.class);
    }

    /** The manifest of index {@code index} of {@code of} (or of held_out for index -1), if written. */
    public static Optional<CacheLayout.IndexManifest> index(CacheFiles files, int index, int of) throws IOException {
        return files.readJson(directory(index, of) + "/" + CacheLayout.MANIFEST, CacheLayout.IndexManifest.class);
    }

    /** The directory of index {@code index} of {@code of}; index -1 is held_out. */
    public static String directory(int index, int of) {
        return index < 0 ? CacheLayout.HELD_OUT : CacheLayout.indexDirectory(index, of);
    }

    /**
     * The cache at {@code files}: complete with its manifest (assembled and written when every
     * index manifest and held_out's exist but the top one does not yet), or what is missing.
     */
    public static Completeness complete(CacheFiles files) throws IOException {
        Optional<CacheLayout.Info> info = info(files);
        if (info.isEmpty()) {
            return new Completeness(info, Optional.empty(), List.of(files.uri() + " has no " + CacheLayout.INFO + " (no cache there)"));
        }
        Optional<CacheLayout.Manifest> written = files.readJson(CacheLayout.MANIFEST, CacheLayout.Manifest.class);
        if (written.isPresent()) {
            return new Completeness(info, written, List.of());
        }
        int of = info.get().of();
        List<String> missing = new ArrayList<>();
        List<CacheLayout.IndexManifest> indexes = new ArrayList<>();
        for (int i = 0; i < of; i++) {
            Optional<CacheLayout.IndexManifest> index = index(files, i, of);
            if (index.isEmpty()) {
                missing.add("index " + i + " of " + of + " is not complete (no " + directory(i, of) + "/" + CacheLayout.MANIFEST + ")");
            } else {
                indexes.add(index.get());
            }
        }
        Optional<CacheLayout.IndexManifest> heldOut = index(files, -1, of);
        if (heldOut.isEmpty()) {
            missing.add("the held-out rows are not complete (no " + CacheLayout.HELD_OUT + "/" + CacheLayout.MANIFEST + "; index 0 writes them)");
        }
        if (!missing.isEmpty()) {
            return new Completeness(info, Optional.empty(), missing);
        }
        CacheLayout.Manifest manifest = assemble(info.get(), indexes, heldOut.get());
        files.writeJson(CacheLayout.MANIFEST, manifest);
        return new Completeness(info, Optional.of(manifest), List.of());
    }

    /** The top manifest of a cache whose indexes and held-out rows are all complete. */
    static CacheLayout.Manifest assemble(CacheLayout.Info info, List<CacheLayout.IndexManifest> indexes, CacheLayout.IndexManifest heldOut) {
        long rows = indexes.stream().mapToLong(CacheLayout.IndexManifest::rows).sum();
        long shards = heldOut.shards().size();
        long bytes = heldOut.shards().stream().mapToLong(CacheLayout.ShardRecord::bytes).sum();
        for (CacheLayout.IndexManifest index : indexes) {
            shards += index.shards().size();
            bytes += index.shards().stream().mapToLong(CacheLayout.ShardRecord::bytes).sum();
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("shards", shards);
        extra.put("bytes", bytes);
        extra.put("bytesPerRow", rows + heldOut.rows() == 0 ? 0 : (double) bytes / (rows + heldOut.rows()));
        return new CacheLayout.Manifest(CacheLayout.SCHEMA, info, rows, List.copyOf(indexes), heldOut, extra);
    }
}
