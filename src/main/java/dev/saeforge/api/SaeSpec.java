package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Min;

/** The sparse autoencoder. Defaults are SAELens v6's (JumpReLUTrainingSAEConfig). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"architecture", "dIn", "dSae", "expansionFactor", "l0Coefficient", "l0WarmUpSteps",
        "sparsityLossMode", "tanhScale", "bandwidth", "initThreshold", "preActLossCoefficient", "decoderInitNorm",
        "applyBDecToInput", "normalizeActivations", "nBatchesForNormEstimate"})
public class SaeSpec {
    @JsonPropertyDescription("SAE architecture (SAELens architecture).")
    public Architecture architecture = Architecture.JUMPRELU;

    @JsonPropertyDescription("Width of the activations (SAELens d_in); checked against the model or synthetic source when set.")
    @Min(1)
    public Integer dIn;

    @JsonPropertyDescription("Number of latents (SAELens d_sae); set this or expansionFactor.")
    @Min(1)
    public Integer dSae;

    @JsonPropertyDescription("Latents per input dimension, dSae = expansionFactor * dIn; set this or dSae.")
    @Min(1)
    public Integer expansionFactor;

    @JsonPropertyDescription("Weight of the L0 sparsity loss (SAELens l0_coefficient).")
    @Min(0)
    public double l0Coefficient = 1.0;

    @JsonPropertyDescription("Steps over which the L0 coefficient rises linearly from 0 (SAELens l0_warm_up_steps).")
    @Min(0)
    public long l0WarmUpSteps = 0;

    @JsonPropertyDescription("L0 penalty: step (Heaviside, DeepMind) or tanh (Anthropic) (SAELens jumprelu_sparsity_loss_mode).")
    public SparsityLossMode sparsityLossMode = SparsityLossMode.STEP;

    @JsonPropertyDescription("Scale c in tanh(c * f * |W_dec|) for the tanh L0 mode (SAELens jumprelu_tanh_scale).")
    @Min(value = 0, inclusive = false)
    public double tanhScale = 4.0;

    @JsonPropertyDescription("Width of the rectangle kernel of the straight-through estimators (SAELens jumprelu_bandwidth).")
    @Min(value = 0, inclusive = false)
    public double bandwidth = 0.05;

    @JsonPropertyDescription("Initial JumpReLU threshold of every latent (SAELens jumprelu_init_threshold).")
    @Min(0)
    public double initThreshold = 0.01;

    @JsonPropertyDescription("Weight of the pre-activation loss on dead latents; unset disables it (SAELens pre_act_loss_coefficient).")
    @Min(0)
    public Double preActLossCoefficient;

    @JsonPropertyDescription("L2 norm of each decoder row at initialisation (SAELens decoder_init_norm).")
    @Min(value = 0, inclusive = false)
    public double decoderInitNorm = 0.1;

    @JsonPropertyDescription("Subtract b_dec from the input before encoding (SAELens apply_b_dec_to_input).")
    public boolean applyBDecToInput = true;

    @JsonPropertyDescription("Input scaling during training (SAELens normalize_activations); folded into the weights at the end.")
    public ActivationNormalization normalizeActivations = ActivationNormalization.NONE;

    @JsonPropertyDescription("Batches drawn to estimate the expected_average_only_in scale (SAELens n_batches_for_norm_estimate).")
    @Min(1)
    public int nBatchesForNormEstimate = 1000;

    public enum Architecture {
        @JsonProperty("jumprelu") JUMPRELU
    }

    public enum SparsityLossMode {
        @JsonProperty("step") STEP,
        @JsonProperty("tanh") TANH
    }

    public enum ActivationNormalization {
        @JsonProperty("none") NONE,
        @JsonProperty("expected_average_only_in") EXPECTED_AVERAGE_ONLY_IN
    }
}
