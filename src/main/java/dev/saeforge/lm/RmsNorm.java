package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * RMSNorm over the last axis: w * (x / sqrt(mean(x^2) + eps)). As in transformers, the
 * normalisation runs in float32 and is cast back to the input's dtype before the weight multiplies.
 */
final class RmsNorm {
    private final NDArray weight;
    private final float eps;

    RmsNorm(NDArray weight, double eps) {
        this.weight = weight;
        this.eps = (float) eps;
    }

    NDArray forward(NDArray x) {
        DataType dtype = x.getDataType();
        NDArray x32 = x.toType(DataType.FLOAT32, false);
        // pow(-0.5) is libtorch's rsqrt special case, the op transformers uses.
        NDArray inverseRms = x32.square().mean(new int[]{-1}, true).add(eps).pow(-0.5f);
        return x32.mul(inverseRms).toType(dtype, false).muli(weight);
    }
}
