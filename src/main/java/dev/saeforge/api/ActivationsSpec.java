package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/**
 * Where the run's hook activations come from besides the live forward pass: an activation cache,
 * and how many pods generate it. SAELens' counterpart is CacheActivationsRunner (one machine) and
 * use_cached_activations / cached_activations_path.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"cache", "parallelism"})
public class ActivationsSpec {
    /** More pods than this is a typo, not a plan: each index is at least one forward pass. */
    public static final int MAX_PARALLELISM = 10_000;

    @JsonPropertyDescription("An activation cache: the run's hooks' activations over its dataset, in safetensors shards,"
            + " written once and read by any run with the same cache key (SAELens use_cached_activations).")
    public ActivationCacheSpec cache;

    @JsonPropertyDescription("Pods that generate the cache before training, as one Indexed Job: pod i writes a fixed 1/N of the"
            + " dataset's forward passes. Needs spec.activations.cache on s3:// or in spec.checkpoints.volume. Unset: the training"
            + " Job writes the cache itself while it trains (mode write or auto). Ignored by saeforge train.")
    @Min(1)
    @Max(MAX_PARALLELISM)
    public Integer parallelism;
}
