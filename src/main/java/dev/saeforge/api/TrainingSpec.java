package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** The optimisation. Defaults are SAELens v6's (LanguageModelSAERunnerConfig). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"tokens", "batchSizeTokens", "lr", "lrScheduler", "lrWarmUpSteps", "lrDecaySteps", "lrEnd",
        "adamBeta1", "adamBeta2", "seed", "device", "autocast", "autocastLm", "deadFeatureWindow",
        "featureSamplingWindow", "logEverySteps", "evalEverySteps", "evalBatches", "nRestartCycles"})
public class TrainingSpec {
    @JsonPropertyDescription("Activation rows to train on (SAELens training_tokens).")
    @Min(1)
    public long tokens = 2_000_000;

    @JsonPropertyDescription("Activation rows per SAE step (SAELens train_batch_size_tokens).")
    @Min(1)
    public int batchSizeTokens = 4096;

    @JsonPropertyDescription("Adam learning rate (SAELens lr).")
    @Min(value = 0, inclusive = false)
    public double lr = 3e-4;

    @JsonPropertyDescription("Learning-rate schedule of the main phase (SAELens lr_scheduler_name).")
    public LrScheduler lrScheduler = LrScheduler.CONSTANT;

    @JsonPropertyDescription("Steps of linear learning-rate warm-up (SAELens lr_warm_up_steps).")
    @Min(0)
    public long lrWarmUpSteps = 0;

    @JsonPropertyDescription("Final steps of linear learning-rate decay to 0 (SAELens lr_decay_steps).")
    @Min(0)
    public long lrDecaySteps = 0;

    @JsonPropertyDescription("Learning rate the cosine schedule ends at and the decay starts from; defaults to lr/10 (SAELens lr_end).")
    @Min(0)
    public Double lrEnd;

    @JsonPropertyDescription("Adam beta1 (SAELens adam_beta1).")
    @Min(0)
    @Max(value = 1, inclusive = false)
    public double adamBeta1 = 0.9;

    @JsonPropertyDescription("Adam beta2 (SAELens adam_beta2).")
    @Min(0)
    @Max(value = 1, inclusive = false)
    public double adamBeta2 = 0.999;

    @JsonPropertyDescription("Seed of initialisation, data order and sampling; same seed, same run.")
    public long seed = 42;

    @JsonPropertyDescription("Where the SAE and model run: auto picks CUDA when a GPU is visible.")
    public Device device = Device.AUTO;

    @JsonPropertyDescription("Reduced-precision SAE step on the GPU (SAELens autocast).")
    public boolean autocast = false;

    @JsonPropertyDescription("Reduced-precision language-model forward on the GPU (SAELens autocast_lm).")
    public boolean autocastLm = false;

    @JsonPropertyDescription("Steps without firing after which a latent counts as dead (SAELens dead_feature_window).")
    @Min(1)
    public int deadFeatureWindow = 1000;

    @JsonPropertyDescription("Steps over which firing frequencies are collected and then reset (SAELens feature_sampling_window).")
    @Min(1)
    public int featureSamplingWindow = 2000;

    @JsonPropertyDescription("Steps between metric reports (SAELens wandb_log_frequency).")
    @Min(1)
    public int logEverySteps = 10;

    @JsonPropertyDescription("Steps between evaluations on held-out windows; 0 evaluates only at the end"
            + " (SAELens wandb_log_frequency * eval_every_n_wandb_logs).")
    @Min(0)
    public int evalEverySteps = 1000;

    @JsonPropertyDescription("Language-model batches of held-out windows each evaluation runs (SAELens n_eval_batches);"
            + " for a synthetic source, batches of batchSizeTokens rows.")
    @Min(1)
    public int evalBatches = 10;

    @JsonPropertyDescription("Cycles of the cosineannealingwarmrestarts schedule: the cosine restarts from lr every"
            + " (steps - lrWarmUpSteps - lrDecaySteps) // nRestartCycles steps (SAELens n_restart_cycles); default 1.")
    @Min(1)
    public int nRestartCycles = 1;

    /** Number of SAE steps the token budget buys: SAELens' total_training_steps. */
    public long totalSteps() {
        return tokens / batchSizeTokens;
    }

    public enum LrScheduler {
        @JsonProperty("constant") CONSTANT,
        @JsonProperty("cosineannealing") COSINE_ANNEALING,
        @JsonProperty("cosineannealingwarmrestarts") COSINE_ANNEALING_WARM_RESTARTS
    }

    public enum Device {
        @JsonProperty("auto") AUTO,
        @JsonProperty("cpu") CPU,
        @JsonProperty("cuda") CUDA
    }
}
