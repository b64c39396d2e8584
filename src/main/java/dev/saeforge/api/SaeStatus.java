package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/** Where one SAE of a run stands (an entry of status.saes), as the trainer last reported it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"name", "hook", "l0", "explainedVariance", "deadFeatures", "ceLossScore"})
public class SaeStatus {
    @JsonPropertyDescription("Name of the SAE within the run, as in spec.saes (the run's name for a single spec.sae).")
    public String name;

    @JsonPropertyDescription("Hook whose activations train the SAE; absent for a synthetic run.")
    public String hook;

    @JsonPropertyDescription("Mean number of active latents per token, recent batches (the held-out evaluation's at the end).")
    public Double l0;

    @JsonPropertyDescription("Explained variance of the reconstruction, recent batches (the held-out evaluation's at the end).")
    public Double explainedVariance;

    @JsonPropertyDescription("Latents that have not fired within the dead-feature window.")
    public Integer deadFeatures;

    @JsonPropertyDescription("CE loss score at the last held-out evaluation: 1 when splicing the SAE in costs nothing, 0 when it is as bad as zero-ablation.")
    public Double ceLossScore;
}
