package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.saeforge.api.SaeSpec;

import java.util.Map;

/**
 * One SAE architecture, as the rest of the trainer sees it: how to make its SAE from a TrainingRun's
 * sae section (fresh or from saved weights), what its cfg.json says, and how much memory it holds.
 * Each architecture implements this in its own file, beside its config, and
 * {@link SaeArchitectures} picks one by spec.sae.architecture: nothing else names an architecture.
 */
public interface SaeArchitecture {

    /** spec.sae.architecture's value, and the "architecture" SAELens loads it as. */
    String name();

    /** Latents of the SAE the spec describes at activations of width {@code dIn}. */
    int dSae(SaeSpec spec, int dIn);

    /** A freshly initialised SAE, as SAELens initialises one, from {@code seed} alone. */
    TrainingSae initialise(SaeSpec spec, int dIn, NDManager manager, long seed);

    /** The SAE with the given parameters (by SAELens name, copied), e.g. from a checkpoint. */
    TrainingSae fromParameters(SaeSpec spec, int dIn, NDManager manager, Map<String, NDArray> values);

    /** cfg.json's keys for this architecture: "architecture", d_in, d_sae and its own training keys, as SAELens writes them. */
    Map<String, Object> cfg(SaeSpec spec, int dIn);

    /** Values of its parameters. */
    long parameters(SaeSpec spec, int dIn);

    /** The batch-sized arrays a training step leaves for the caller's scope. */
    RowArrays stepArrays(SaeSpec spec, int dIn);

    /** The batch-sized arrays encode then decode leave for the caller's scope. */
    RowArrays encodeDecodeArrays(SaeSpec spec, int dIn);
}
