package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

import java.util.List;

/**
 * The fields of spec.training one SAE may set for itself: its optimiser, learning-rate schedule
 * and firing-statistics windows. Unset fields take spec.training's value. The token budget, batch
 * size, seed, device and evaluation cadence belong to the activation stream every SAE shares.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"lr", "lrScheduler", "lrWarmUpSteps", "lrDecaySteps", "lrEnd", "adamBeta1", "adamBeta2",
        "deadFeatureWindow", "featureSamplingWindow", "nRestartCycles"})
public class SaeTrainingSpec {
    /** spec.training fields that belong to the stream, refused per SAE with this explanation. */
    public static final List<String> STREAM_FIELDS = List.of("tokens", "batchSizeTokens", "seed", "device", "autocast",
            "autocastLm", "logEverySteps", "evalEverySteps", "evalBatches");

    @JsonPropertyDescription("Adam learning rate (SAELens lr).")
    @Min(value = 0, inclusive = false)
    public Double lr;

    @JsonPropertyDescription("Learning-rate schedule of the main phase (SAELens lr_scheduler_name).")
    public TrainingSpec.LrScheduler lrScheduler;

    @JsonPropertyDescription("Steps of linear learning-rate warm-up (SAELens lr_warm_up_steps).")
    @Min(0)
    public Long lrWarmUpSteps;

    @JsonPropertyDescription("Final steps of linear learning-rate decay to 0 (SAELens lr_decay_steps).")
    @Min(0)
    public Long lrDecaySteps;

    @JsonPropertyDescription("Learning rate the cosine schedule ends at and the decay starts from; defaults to this SAE's lr/10 "
            + "when it sets lr (SAELens lr_end).")
    @Min(0)
    public Double lrEnd;

    @JsonPropertyDescription("Adam beta1 (SAELens adam_beta1).")
    @Min(0)
    @Max(value = 1, inclusive = false)
    public Double adamBeta1;

    @JsonPropertyDescription("Adam beta2 (SAELens adam_beta2).")
    @Min(0)
    @Max(value = 1, inclusive = false)
    public Double adamBeta2;

    @JsonPropertyDescription("Steps without firing after which a latent counts as dead (SAELens dead_feature_window).")
    @Min(1)
    public Integer deadFeatureWindow;

    @JsonPropertyDescription("Steps over which firing frequencies are collected and then reset (SAELens feature_sampling_window).")
    @Min(1)
    public Integer featureSamplingWindow;

    @JsonPropertyDescription("Cycles of the cosineannealingwarmrestarts schedule (SAELens n_restart_cycles).")
    @Min(1)
    public Integer nRestartCycles;
}
