package dev.saeforge.store;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One SAE in a checkpoint, as the manifest's info lists it under {@code saes}: its name and hook,
 * the sub-directory holding its SAELens files ({@code ""} when the checkpoint itself is the one
 * SAE's directory), where that is, and what the trainer recorded of it ({@code dead_features},
 * {@code metrics}, {@code evaluation}).
 */
public record CheckpointSae(String name, String hook, String directory, String uri, Map<String, Object> info) {

    public CheckpointSae {
        info = Collections.unmodifiableMap(new LinkedHashMap<>(info));
    }

    /**
     * The SAEs of a checkpoint, in the run's order. A checkpoint from before the trainer listed them
     * is one SAE at its root, named after the run as a single-SAE run names it; one whose manifest
     * was not read (incomplete, info empty) has none known.
     */
    public static List<CheckpointSae> of(CheckpointRef checkpoint) {
        Map<String, Object> info = checkpoint.info();
        if (info.isEmpty()) {
            return List.of();
        }
        if (!(info.get("saes") instanceof List<?> listed)) {
            return List.of(new CheckpointSae(checkpoint.run(), null, "", checkpoint.uri(), info));
        }
        return listed.stream().filter(entry -> entry instanceof Map<?, ?>).map(entry -> {
            Map<String, Object> sae = new LinkedHashMap<>();
            ((Map<?, ?>) entry).forEach((key, value) -> sae.put(String.valueOf(key), value));
            String directory = sae.get("directory") instanceof String dir ? dir : "";
            return new CheckpointSae(String.valueOf(sae.get("name")), sae.get("hook") instanceof String hook ? hook : null, directory,
                    directory.isEmpty() ? checkpoint.uri() : checkpoint.uri() + "/" + directory, sae);
        }).toList();
    }

    /** The path in the checkpoint of one of this SAE's files: "cfg.json", or "mlp28-c1/cfg.json" in a multi-SAE checkpoint. */
    public String path(String file) {
        return directory.isEmpty() ? file : directory + "/" + file;
    }

    /** Whether the checkpoint file at {@code path} is this SAE's: under its directory (every file, for the root). */
    public boolean holds(String path) {
        return directory.isEmpty() || path.startsWith(directory + "/");
    }
}
