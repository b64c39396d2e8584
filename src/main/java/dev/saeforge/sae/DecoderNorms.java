package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;

/** The decoder-row norms |W_dec,i| that several architectures' losses weigh latents by, and their gradient. */
final class DecoderNorms {
    private DecoderNorms() {
    }

    /** |W_dec,i| per latent, [d_sae]. */
    static NDArray of(NDArray wDec) {
        return wDec.norm(new int[]{1});
    }

    /**
     * d(loss)/d(W_dec) from d(loss)/d|W_dec,i|: row i of W_dec scaled by g_i / |W_dec,i|. A zero
     * row has a zero gradient, as torch's norm backward gives.
     */
    static NDArray gradient(NDArray wDec, NDArray gradNorms, NDArray norms) {
        NDArray safeNorms = norms.add(norms.eq(0).toType(norms.getDataType(), false));
        return wDec.mul(gradNorms.div(safeNorms).expandDims(1));
    }
}
