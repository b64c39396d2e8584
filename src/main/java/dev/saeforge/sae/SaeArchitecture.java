package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.SaeSpec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One SAE architecture, as the rest of the trainer sees it: how to make its SAE from a TrainingRun's
 * sae section (fresh or from saved weights), what its cfg.json says while it trains and once it
 * is saved for inference, which loss terms it has, and how much memory it holds. Each
 * architecture implements this in its own file, beside its config, and {@link SaeArchitectures}
 * picks one by spec.sae.architecture: nothing else names an architecture.
 *
 * <p>{@code spec} always has its architecture's defaults filled in ({@link SaeSpec#withDefaults()}).
 */
public interface SaeArchitecture {

    /** What the step's loss terms are called, as SAELens logs them; null where the architecture has no such term. */
    record Losses(String sparsity, String auxiliary, String coefficient) {
    }

    /** spec.sae.architecture's value, and the "architecture" of its training checkpoints. */
    String name();

    /** Latents of the SAE the spec describes at activations of width {@code dIn}. */
    int dSae(SaeSpec spec, int dIn);

    /** A freshly initialised SAE, as SAELens initialises one, from {@code seed} alone. */
    TrainingSae initialise(SaeSpec spec, int dIn, NDManager manager, long seed);

    /** The SAE with the given parameters and buffers (by SAELens name, copied), e.g. from a checkpoint. */
    TrainingSae fromParameters(SaeSpec spec, int dIn, NDManager manager, Map<String, NDArray> values);

    /** cfg.json's keys of a training checkpoint: "architecture", d_in, d_sae and its own training keys, as SAELens' save_model writes them. */
    Map<String, Object> cfg(SaeSpec spec, int dIn);

    /** cfg.json's keys of the final SAE, as SAELens' save_inference_model writes them (batchtopk saves as jumprelu). */
    default Map<String, Object> inferenceCfg(SaeSpec spec, int dIn) {
        return cfg(spec, dIn);
    }

    /** The cfg.json keys every architecture's config starts with (SAELens' TrainingSAEConfig), to which it adds its own. */
    static Map<String, Object> sharedCfg(String architecture, int dIn, int dSae, boolean applyBDecToInput, double decoderInitNorm) {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("architecture", architecture);
        cfg.put("d_in", dIn);
        cfg.put("d_sae", dSae);
        cfg.put("apply_b_dec_to_input", applyBDecToInput);
        cfg.put("decoder_init_norm", decoderInitNorm);
        return cfg;
    }

    /** Its loss terms' names. */
    Losses losses();

    /** The sparsity coefficient before warm-up (0 for an architecture without one). */
    double sparsityCoefficient(SaeSpec spec);

    /** Steps over which the sparsity coefficient rises linearly from 0. */
    long sparsityWarmUpSteps(SaeSpec spec);

    /** Whether a step needs the dead-latent mask (for the pre-activation or AuxK loss). */
    boolean needsDeadMask(SaeSpec spec);

    /** Values of its parameters and buffers. */
    long parameters(SaeSpec spec, int dIn);

    /** The batch-sized arrays a training step leaves for the caller's scope. */
    RowArrays stepArrays(SaeSpec spec, int dIn);

    /** The batch-sized arrays encode then decode leave for the caller's scope. */
    RowArrays encodeDecodeArrays(SaeSpec spec, int dIn);
}
