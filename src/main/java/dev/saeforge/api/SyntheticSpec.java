package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/**
 * A toy model of superposition: {@code features} ground-truth unit directions in {@code dIn}
 * dimensions, each active with probability {@code firingProbability} and a magnitude drawn
 * uniformly from (0, maxMagnitude]. An SAE trained on it should recover the directions.
 */
@JsonPropertyOrder({"features", "dIn", "firingProbability", "maxMagnitude"})
public class SyntheticSpec {
    @JsonPropertyDescription("Number of ground-truth feature directions.")
    @Min(1)
    public int features = 64;

    @JsonPropertyDescription("Dimension of the activation vectors.")
    @Min(1)
    public int dIn = 32;

    @JsonPropertyDescription("Probability that a feature is active in a sample.")
    @Min(value = 0, inclusive = false)
    @Max(1)
    public double firingProbability = 0.05;

    @JsonPropertyDescription("Largest magnitude of an active feature.")
    @Min(value = 0, inclusive = false)
    public double maxMagnitude = 1.0;
}
