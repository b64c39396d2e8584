package dev.saeforge.train;

import ai.djl.Device;
import dev.saeforge.api.ActivationCacheSpec;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.cache.CacheFiles;
import dev.saeforge.cache.CacheKey;
import dev.saeforge.cache.CacheLayout;
import dev.saeforge.cache.CacheManifests;
import dev.saeforge.cache.CacheMismatchException;
import dev.saeforge.cache.CacheWriter;
import dev.saeforge.data.LanguageModelData;
import dev.saeforge.lm.HookPoint;
import dev.saeforge.lm.ModelSources;

import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The activation cache a run with spec.activations.cache trains from: found complete with a key
 * matching the spec's (mode read, or auto when there is one), or built first in this process with
 * the language model, which is then closed (mode write, or auto without a complete cache). A
 * cache whose key differs is refused before anything is trained, naming the differing fields.
 */
final class CacheReading {
    /** What the summary says of an evaluation from the cache: the scores that need the language model were not computed. */
    static final String EVALUATION_NOTE = "CE and KL need the language model, which a run trained from an activation cache does not"
            + " load; they were skipped (explained variance, L0 and dead latents are from the cache's held-out rows)";

    private CacheReading() {
    }

    /**
     * The files of {@code spec}'s cache, complete and matching its key for {@code hooks}, built
     * first when the mode allows it ({@code listener} hears how long that took).
     */
    static CacheFiles prepare(TrainingRunSpec spec, List<HookPoint> hooks, Device device, ModelSources sources, Map<String, String> env,
                              TrainingListener listener) throws IOException {
        ActivationCacheSpec cache = spec.activations.cache;
        CacheFiles files = CacheFiles.open(cache.location(spec.checkpoints, env), env);
        LanguageModelData.Inputs inputs = LanguageModelData.inputsWithoutModel(spec, sources);
        CacheKey wanted = CacheKey.of(spec, hooks.stream().map(HookPoint::toString).toList(), inputs.files(), inputs.precision().toString());
        CacheManifests.Completeness state = CacheManifests.complete(files);
        if (state.info().isPresent()) {
            refuseOtherKey(files, state.info().get(), wanted);
        }
        if (state.complete()) {
            return files;
        }
        if (cache.mode == ActivationCacheSpec.Mode.READ) {
            throw new IllegalArgumentException("spec.activations.cache.mode is read, but the activation cache " + files.uri()
                    + " is not complete: " + state.describe() + "; build it first (saeforge cache build FILE) or set mode to auto");
        }
        int of = state.info().map(CacheLayout.Info::of).orElse(1);
        Instant start = Instant.now();
        CacheLayout.Manifest manifest;
        try (LanguageModelData data = LanguageModelData.open(spec, hooks, device, sources)) {
            manifest = new CacheWriter(spec, data, hooks, files, listener.cacheBuild()).buildAll(of);
        }
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put("cache", files.uri());
        attributes.put("indexes", of);
        attributes.put("rows", manifest.trainingRows());
        listener.timed(new Operation("activation cache build", start, Instant.now(), attributes));
        refuseOtherKey(files, manifest.info(), wanted);
        return files;
    }

    private static void refuseOtherKey(CacheFiles files, CacheLayout.Info info, CacheKey wanted) {
        List<String> differences = info.key().differences(wanted);
        if (!differences.isEmpty()) {
            throw new CacheMismatchException("the activation cache " + files.uri() + " was made for another run: its key differs from the"
                    + " spec's in " + String.join("; ", differences) + "; point spec.activations.cache.uri elsewhere, or delete it with:"
                    + " saeforge cache rm " + files.uri());
        }
    }

    /** Whether {@code spec} trains from an activation cache. */
    static boolean configured(TrainingRunSpec spec) {
        return spec.synthetic == null && Optional.ofNullable(spec.activations).map(a -> a.cache).isPresent();
    }
}
