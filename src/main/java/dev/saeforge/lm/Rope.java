package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.HashMap;
import java.util.Map;

/**
 * Rotary position embeddings in the rotate-half (NeoX) convention with the default rope type:
 * dimension i pairs with i + head_dim/2, inv_freq_j = theta^(-2j/head_dim), angle = position *
 * inv_freq, tables of [angles, angles] (reference/saelens-qwen3.md §6.1). Tables are computed in
 * float32 as transformers does, then cast to the compute dtype, and kept per sequence length.
 */
final class Rope {
    /** cos and the sign-folded sin for positions 0..T-1, shaped [T, 1, head_dim] to broadcast over heads. */
    record Tables(NDArray cos, NDArray signedSin) {
    }

    private final NDManager manager;
    private final int headDim;
    private final float[] inverseFrequencies;
    private final DataType dtype;
    private final Map<Integer, Tables> byLength = new HashMap<>();

    Rope(NDManager manager, int headDim, double theta, DataType dtype) {
        this.manager = manager;
        this.headDim = headDim;
        this.dtype = dtype;
        this.inverseFrequencies = inverseFrequencies(headDim, theta);
    }

    /** theta^(-2j/hd) in float32, j = 0..hd/2-1: transformers computes 1/(theta ** (arange(0,hd,2).float()/hd)). */
    static float[] inverseFrequencies(int headDim, double theta) {
        float[] inv = new float[headDim / 2];
        for (int j = 0; j < inv.length; j++) {
            float exponent = (float) (2 * j) / headDim;
            inv[j] = (float) (1.0 / (float) Math.pow(theta, exponent));
        }
        return inv;
    }

    synchronized Tables tables(int length) {
        return byLength.computeIfAbsent(length, this::compute);
    }

    private Tables compute(int length) {
        int half = headDim / 2;
        float[] cos = new float[length * headDim];
        float[] signedSin = new float[length * headDim];
        for (int p = 0; p < length; p++) {
            for (int j = 0; j < half; j++) {
                float angle = p * inverseFrequencies[j];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[p * headDim + j] = c;
                cos[p * headDim + half + j] = c;
                // rotate_half(x) * sin == [x2, x1] * [-sin, sin]: the sign moves into the table.
                signedSin[p * headDim + j] = -s;
                signedSin[p * headDim + half + j] = s;
            }
        }
        try (NDScope scope = new NDScope()) {
            Shape shape = new Shape(length, 1, headDim);
            NDArray cosArray = manager.create(cos, shape).toType(dtype, false);
            NDArray sinArray = manager.create(signedSin, shape).toType(dtype, false);
            NDScope.unregister(cosArray, sinArray);
            return new Tables(cosArray, sinArray);
        }
    }

    /** Rotates x of shape [B, T, heads, head_dim]. */
    static NDArray apply(NDArray x, Tables tables) {
        int half = (int) x.getShape().get(3) / 2;
        NDArray swapped = x.get(new NDIndex("..., {}:", half)).concat(x.get(new NDIndex("..., :{}", half)), -1);
        return x.mul(tables.cos()).addi(swapped.muli(tables.signedSin()));
    }
}
