package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import dev.saeforge.api.SaeSpec;

/**
 * SAELens' run-time activation normalisation (SAE.run_time_activation_norm_fn_in/out): each token's
 * input is normalised before encoding and the reconstruction is mapped back, x̂ = scale·x̂' + shift,
 * with the token's own scale and shift. Being input-dependent it cannot be folded into the weights,
 * so SAELens keeps it in cfg.json and applies it wherever the SAE runs.
 * <ul>
 * <li>constant_norm_rescale: x' = x·√d_in/‖x‖; scale ‖x‖/√d_in, no shift.</li>
 * <li>layer_norm: x' = (x - μ)/(σ + 1e-5), σ the unbiased standard deviation over d_in; scale σ,
 * shift μ (SAELens de-standardises without the epsilon).</li>
 * </ul>
 * Every other mode is the identity here.
 */
public final class RuntimeNormalization {
    /** SAELens' epsilon in layer_norm's denominator. */
    public static final double LAYER_NORM_EPS = 1e-5;

    private RuntimeNormalization() {
    }

    /**
     * One batch [N, d_in] normalised: {@code input} is what the encoder sees; {@code scale} and
     * {@code shift} are [N, 1] (null for the identity, and for a mode without a shift).
     */
    public record Batch(NDArray input, NDArray scale, NDArray shift) {

        /** Whether the batch is passed through as it is. */
        public boolean isIdentity() {
            return scale == null && shift == null;
        }

        /** The reconstruction in the units of the raw input, from the SAE's x̂' (consumed). */
        public NDArray output(NDArray normalised) {
            NDArray out = scale == null ? normalised : normalised.muli(scale);
            return shift == null ? out : out.addi(shift);
        }

        /** d(loss)/dx̂' from d(loss)/dx̂ (in place): the chain rule through {@link #output}. */
        public NDArray backward(NDArray gradOutput) {
            return scale == null ? gradOutput : gradOutput.muli(scale);
        }
    }

    /** The batch {@code x} [N, d_in] as {@code mode} normalises it. */
    public static Batch of(SaeSpec.ActivationNormalization mode, NDArray x) {
        long dIn = x.getShape().get(1);
        return switch (mode) {
            case CONSTANT_NORM_RESCALE -> {
                NDArray norm = x.norm(new int[]{1}, true);
                NDArray coefficient = norm.pow(-1).muli(Math.sqrt(dIn));
                yield new Batch(x.mul(coefficient), norm.divi(Math.sqrt(dIn)), null);
            }
            case LAYER_NORM -> {
                NDArray mean = x.mean(new int[]{1}, true);
                NDArray centred = x.sub(mean);
                NDArray std = centred.square().sum(new int[]{1}, true).divi(dIn - 1).sqrt();
                yield new Batch(centred.divi(std.add(LAYER_NORM_EPS)), std, mean);
            }
            case NONE, EXPECTED_AVERAGE_ONLY_IN -> new Batch(x, null, null);
        };
    }
}
