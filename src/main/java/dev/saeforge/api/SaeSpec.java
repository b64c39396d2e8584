package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Min;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The sparse autoencoder. Fields are SAELens' names, camelCased. The shared ones come first; the
 * rest belong to one or more architectures ({@link Architecture#fields()}), are refused on others,
 * and take SAELens' defaults ({@link #applyDefaults()}) when left out.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"architecture", "dIn", "dSae", "expansionFactor", "decoderInitNorm", "applyBDecToInput",
        "normalizeActivations", "nBatchesForNormEstimate",
        "l0Coefficient", "l0WarmUpSteps", "targetL0", "sparsityLossMode", "tanhScale", "bandwidth", "initThreshold",
        "preActLossCoefficient", "jumpreluSteToInput",
        "k", "auxLossCoefficient", "rescaleActsByDecoderNorm", "topkThresholdLr", "matryoshkaWidths",
        "l1Coefficient", "lpNorm", "l1WarmUpSteps", "fromPretrained"})
public class SaeSpec {
    @JsonPropertyDescription("SAE architecture (SAELens architecture): jumprelu, topk, batchtopk, matryoshka_batchtopk or standard.")
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

    @JsonPropertyDescription("L2 norm of each decoder row at initialisation (SAELens decoder_init_norm).")
    @Min(value = 0, inclusive = false)
    public double decoderInitNorm = 0.1;

    @JsonPropertyDescription("Subtract b_dec from the input before encoding (SAELens apply_b_dec_to_input).")
    public boolean applyBDecToInput = true;

    @JsonPropertyDescription("Input normalisation (SAELens normalize_activations), default none: expected_average_only_in scales"
            + " every input by sqrt(dIn)/E|x| during training and is folded into the weights at the end; constant_norm_rescale"
            + " (x * sqrt(dIn)/|x|) and layer_norm ((x - mean)/(std + 1e-5)) act per token, in training and wherever the SAE is"
            + " used, undo themselves on the reconstruction, and stay in cfg.json.")
    public ActivationNormalization normalizeActivations = ActivationNormalization.NONE;

    @JsonPropertyDescription("Batches drawn to estimate the expected_average_only_in scale (SAELens n_batches_for_norm_estimate).")
    @Min(1)
    public int nBatchesForNormEstimate = 1000;

    // jumprelu

    @JsonPropertyDescription("jumprelu: weight of the L0 sparsity loss (SAELens l0_coefficient); default 1.")
    @Min(0)
    public Double l0Coefficient;

    @JsonPropertyDescription("jumprelu: steps over which the L0 coefficient rises linearly from 0 (SAELens l0_warm_up_steps); default 0.")
    @Min(0)
    public Long l0WarmUpSteps;

    @JsonPropertyDescription("jumprelu: train toward this L0 with the quadratic penalty l0Coefficient * (L0 / targetL0 - 1)^2 "
            + "instead of the linear one (SAELens #732); unset uses the linear penalty.")
    @Min(value = 0, inclusive = false)
    public Double targetL0;

    @JsonPropertyDescription("jumprelu: L0 penalty: step (Heaviside, DeepMind) or tanh (Anthropic) (SAELens jumprelu_sparsity_loss_mode); default step.")
    public SparsityLossMode sparsityLossMode;

    @JsonPropertyDescription("jumprelu: scale c in tanh(c * f * |W_dec|) for the tanh L0 mode (SAELens jumprelu_tanh_scale); default 4.")
    @Min(value = 0, inclusive = false)
    public Double tanhScale;

    @JsonPropertyDescription("jumprelu: width of the rectangle kernel of the straight-through estimators (SAELens jumprelu_bandwidth); default 0.05.")
    @Min(value = 0, inclusive = false)
    public Double bandwidth;

    @JsonPropertyDescription("jumprelu: initial threshold of every latent (SAELens jumprelu_init_threshold); default 0.01.")
    @Min(0)
    public Double initThreshold;

    @JsonPropertyDescription("jumprelu: weight of the pre-activation loss on dead latents; unset disables it (SAELens pre_act_loss_coefficient).")
    @Min(0)
    public Double preActLossCoefficient;

    @JsonPropertyDescription("jumprelu: let the straight-through estimators' gradients reach the pre-activations, not only the "
            + "thresholds, as Anthropic does (SAELens jumprelu_ste_to_input); default false.")
    public Boolean jumpreluSteToInput;

    // topk, batchtopk, matryoshka_batchtopk

    @JsonPropertyDescription("topk family: latents kept per token; topk takes an integer, batchtopk and matryoshka_batchtopk an "
            + "average over the batch (SAELens k); default 100.")
    @Min(value = 0, inclusive = false)
    public Double k;

    @JsonPropertyDescription("topk family: weight of the AuxK loss that lets dead latents reconstruct the residual (SAELens aux_loss_coefficient); default 1.")
    @Min(0)
    public Double auxLossCoefficient;

    @JsonPropertyDescription("topk family: rank and decode latents as if every decoder row had unit norm (SAELens "
            + "rescale_acts_by_decoder_norm); default true.")
    public Boolean rescaleActsByDecoderNorm;

    @JsonPropertyDescription("batchtopk, matryoshka_batchtopk: rate of the running average of the smallest kept activation, "
            + "the threshold the SAE is saved with (SAELens topk_threshold_lr); default 0.01.")
    @Min(value = 0, inclusive = false)
    public Double topkThresholdLr;

    @JsonPropertyDescription("matryoshka_batchtopk: the nested prefix widths, strictly increasing; dSae is added as the last "
            + "when it is not (SAELens matryoshka_widths). Required.")
    public List<Integer> matryoshkaWidths;

    // standard

    @JsonPropertyDescription("standard: weight of the decoder-norm-weighted Lp penalty (SAELens l1_coefficient); default 1.")
    @Min(0)
    public Double l1Coefficient;

    @JsonPropertyDescription("standard: p of the penalty's norm over latents (SAELens lp_norm); default 1.")
    @Min(value = 0, inclusive = false)
    public Double lpNorm;

    @JsonPropertyDescription("standard: steps over which the L1 coefficient rises linearly from 0 (SAELens l1_warm_up_steps); default 0.")
    @Min(0)
    public Long l1WarmUpSteps;

    @JsonPropertyDescription("Start from the weights of an existing SAELens checkpoint directory (SAELens from_pretrained_path):"
            + " a path, file://PATH, hf://ORG/NAME[@REVISION][/SUBFOLDER] or s3://BUCKET/PREFIX holding cfg.json and"
            + " sae_weights.safetensors. Its architecture, d_in, d_sae, dtype and normalize_activations must match this SAE;"
            + " the optimiser starts fresh. Unset (the default) initialises the SAE.")
    public String fromPretrained;

    public enum Architecture {
        @JsonProperty("jumprelu") JUMPRELU("jumprelu", "l0Coefficient", "l0WarmUpSteps", "targetL0", "sparsityLossMode", "tanhScale",
                "bandwidth", "initThreshold", "preActLossCoefficient", "jumpreluSteToInput"),
        @JsonProperty("topk") TOPK("topk", "k", "auxLossCoefficient", "rescaleActsByDecoderNorm"),
        @JsonProperty("batchtopk") BATCHTOPK("batchtopk", "k", "auxLossCoefficient", "rescaleActsByDecoderNorm", "topkThresholdLr"),
        @JsonProperty("matryoshka_batchtopk") MATRYOSHKA_BATCHTOPK("matryoshka_batchtopk", "k", "auxLossCoefficient",
                "rescaleActsByDecoderNorm", "topkThresholdLr", "matryoshkaWidths"),
        @JsonProperty("standard") STANDARD("standard", "l1Coefficient", "lpNorm", "l1WarmUpSteps");

        private final String value;
        private final Set<String> fields;

        Architecture(String value, String... fields) {
            this.value = value;
            this.fields = Set.of(fields);
        }

        /** The name in a spec and in SAELens' cfg.json. */
        public String value() {
            return value;
        }

        /** The spec.sae fields of this architecture alone (besides the shared ones). */
        public Set<String> fields() {
            return fields;
        }

        /** Every architecture-specific field, in the order the spec lists them. */
        public static List<String> allFields() {
            List<String> out = new ArrayList<>();
            for (String name : SaeSpec.class.getAnnotation(JsonPropertyOrder.class).value()) {
                if (Arrays.stream(values()).anyMatch(a -> a.fields.contains(name))) {
                    out.add(name);
                }
            }
            return out;
        }

        /** The architectures a field belongs to, e.g. "topk, batchtopk and matryoshka_batchtopk". */
        public static String owners(String field) {
            List<String> owners = Arrays.stream(values()).filter(a -> a.fields.contains(field)).map(Architecture::value).toList();
            return owners.size() == 1 ? owners.get(0)
                    : String.join(", ", owners.subList(0, owners.size() - 1)) + " and " + owners.get(owners.size() - 1);
        }
    }

    public enum SparsityLossMode {
        @JsonProperty("step") STEP,
        @JsonProperty("tanh") TANH
    }

    public enum ActivationNormalization {
        @JsonProperty("none") NONE,
        @JsonProperty("expected_average_only_in") EXPECTED_AVERAGE_ONLY_IN,
        @JsonProperty("constant_norm_rescale") CONSTANT_NORM_RESCALE,
        @JsonProperty("layer_norm") LAYER_NORM;

        /** The name in a spec and in SAELens' cfg.json. */
        public String value() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** Whether SAELens applies it per token at run time (so it stays in cfg.json), not folded into the weights. */
        public boolean atRunTime() {
            return this == CONSTANT_NORM_RESCALE || this == LAYER_NORM;
        }
    }

    /**
     * The fields of the other architectures that are set here, e.g. "l0Coefficient" on a topk SAE;
     * {@link #applyDefaults()} keeps them unset.
     */
    public List<String> foreignFields() {
        com.fasterxml.jackson.databind.JsonNode tree = Mappers.json().valueToTree(this);
        return Architecture.allFields().stream()
                .filter(name -> tree.has(name) && !architecture.fields().contains(name))
                .toList();
    }

    /** Fills this architecture's unset fields with SAELens' defaults (≥ 6.49); returns this. */
    public SaeSpec applyDefaults() {
        switch (architecture) {
            case JUMPRELU -> {
                l0Coefficient = or(l0Coefficient, 1.0);
                l0WarmUpSteps = or(l0WarmUpSteps, 0L);
                sparsityLossMode = or(sparsityLossMode, SparsityLossMode.STEP);
                tanhScale = or(tanhScale, 4.0);
                bandwidth = or(bandwidth, 0.05);
                initThreshold = or(initThreshold, 0.01);
                jumpreluSteToInput = or(jumpreluSteToInput, false);
            }
            case TOPK, BATCHTOPK, MATRYOSHKA_BATCHTOPK -> {
                k = or(k, 100.0);
                auxLossCoefficient = or(auxLossCoefficient, 1.0);
                rescaleActsByDecoderNorm = or(rescaleActsByDecoderNorm, true);
                if (architecture != Architecture.TOPK) {
                    topkThresholdLr = or(topkThresholdLr, 0.01);
                }
            }
            case STANDARD -> {
                l1Coefficient = or(l1Coefficient, 1.0);
                lpNorm = or(lpNorm, 1.0);
                l1WarmUpSteps = or(l1WarmUpSteps, 0L);
            }
        }
        return this;
    }

    /** A copy with this architecture's defaults filled in. */
    public SaeSpec withDefaults() {
        return Mappers.json().convertValue(Mappers.json().valueToTree(this), SaeSpec.class).applyDefaults();
    }

    private static <T> T or(T value, T otherwise) {
        return value != null ? value : otherwise;
    }
}
