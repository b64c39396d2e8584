package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/**
 * A sparse autoencoder under training: its parameters by their SAELens names, and one step's
 * forward pass with the gradients of every loss term. Each architecture is one class implementing
 * this, with its config and its {@link SaeArchitecture} next to it.
 */
public interface TrainingSae extends AutoCloseable {
    /** The parameter names every SAELens architecture shares. */
    String W_ENC = "W_enc";
    String W_DEC = "W_dec";
    String B_ENC = "b_enc";
    String B_DEC = "b_dec";
    /** JumpReLU's per-latent threshold, which the batch variants of TopK are saved with too. */
    String THRESHOLD = "threshold";

    /** The inputs of one step besides the activations. */
    record StepInput(
            /** Weight of the sparsity loss at this step (after warm-up). */
            double sparsityCoefficient,
            /** 1 for latents counted as dead, else 0, shape [d_sae]; null when no term uses it. */
            NDArray deadMask) {
    }

    /**
     * What one forward and backward pass produced. Losses are scalars on the SAE's device; nothing
     * is read back to Java here, so a step never waits for the device.
     */
    record StepOutput(
            NDArray mseLoss,
            NDArray sparsityLoss,
            /** The auxiliary loss (JumpReLU: the pre-activation loss; TopK: AuxK, plus Matryoshka's inner losses), zero when disabled. */
            NDArray auxiliaryLoss,
            /** How many rows of the batch each latent fired on, float [d_sae]. */
            NDArray firingCounts) {

        public NDArray totalLoss() {
            return mseLoss.add(sparsityLoss).add(auxiliaryLoss);
        }
    }

    int dIn();

    int dSae();

    /** Parameters by SAELens name, in a fixed order; updated in place by the optimiser. */
    Map<String, NDArray> parameters();

    /** State a checkpoint keeps that the optimiser does not train (batchtopk's running threshold), by SAELens name. */
    default Map<String, NDArray> buffers() {
        return Map.of();
    }

    /**
     * The weights SAELens' inference class loads, as save_inference_model writes them: the
     * parameters themselves, or arrays derived from them (decoder norms folded, a batch threshold
     * turned into a JumpReLU one). Call after {@link #foldActivationScale}.
     */
    default Map<String, NDArray> inferenceWeights() {
        return parameters();
    }

    /**
     * Runs the training forward pass on a batch [N, d_in] and returns the losses; afterwards
     * {@link #gradients()} holds d(total loss)/d(parameter) for every parameter.
     */
    StepOutput forwardBackward(NDArray x, StepInput input);

    /**
     * Gradients of the last {@link #forwardBackward}, same keys as {@link #parameters()}; the
     * optimiser step uses them as scratch space, so they are valid until it runs.
     */
    Map<String, NDArray> gradients();

    /** Projects the parameters back onto their constraints after an optimiser step. */
    void afterOptimizerStep();

    /**
     * The batch [N, d_in] as the SAE's run-time normalisation (SAELens normalize_activations
     * constant_norm_rescale or layer_norm) hands it to {@link #encode}, with the map that takes
     * {@link #decode}'s output back to the batch's units; the identity for every other mode.
     */
    RuntimeNormalization.Batch normalise(NDArray x);

    /** Latent activations [N, d_sae] for inputs [N, d_in] after {@link #normalise}, as SAELens' inference encode. */
    NDArray encode(NDArray x);

    /** Reconstruction [N, d_in] from latent activations [N, d_sae], before {@link RuntimeNormalization.Batch#output}. */
    NDArray decode(NDArray features);

    /**
     * Folds an input scale s the SAE was trained with into its weights, as SAELens does at the end
     * of training, so that it takes raw activations.
     */
    void foldActivationScale(double scale);

    /** Frees its parameters and gradients. */
    @Override
    void close();
}
