package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Qwen3 self-attention: q/k/v projections, per-head RMSNorm of q and k before rotary embeddings,
 * grouped-query attention with a causal softmax, then o_proj (reference/saelens-qwen3.md §6.1).
 * Written by hand: DJL exposes no scaled_dot_product_attention.
 */
final class Attention {
    private final Linear q;
    private final Linear k;
    private final Linear v;
    private final Linear o;
    private final RmsNorm qNorm;
    private final RmsNorm kNorm;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final float scale;

    Attention(Linear q, Linear k, Linear v, Linear o, RmsNorm qNorm, RmsNorm kNorm, Qwen3Config config) {
        this.q = q;
        this.k = k;
        this.v = v;
        this.o = o;
        this.qNorm = qNorm;
        this.kNorm = kNorm;
        this.heads = config.numHeads();
        this.kvHeads = config.numKvHeads();
        this.headDim = config.headDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
    }

    /**
     * x: [B, T, hidden]; mask: [T, T], 0 on and below the diagonal, -inf above. Returns the
     * o_proj output [B, T, hidden] (hook_attn_out).
     */
    NDArray forward(NDArray x, Rope.Tables rope, NDArray mask) {
        Shape shape = x.getShape();
        long batch = shape.get(0);
        long length = shape.get(1);
        int groupSize = heads / kvHeads;
        // [B, T, heads, hd] -> norm over hd -> rotate -> [B, heads, T, hd]. The 1/sqrt(hd) scale
        // goes on q rather than on the [T, T] scores (fewer elements, as SDPA does).
        NDArray query = Rope.apply(qNorm.forward(q.forward(x).reshape(batch, length, heads, headDim)), rope)
                .mul(scale).transpose(0, 2, 1, 3);
        NDArray key = Rope.apply(kNorm.forward(k.forward(x).reshape(batch, length, kvHeads, headDim)), rope)
                .transpose(0, 2, 1, 3);
        NDArray value = v.forward(x).reshape(batch, length, kvHeads, headDim).transpose(0, 2, 1, 3);
        // GQA: kv head j serves query heads j*g .. j*g+g-1 (transformers' repeat_kv). Stacking a
        // group's g query heads along the row axis lets each kv head serve them in one matmul
        // without copying k and v g times.
        NDArray groupedQuery = query.reshape(batch, kvHeads, groupSize * length, headDim);
        NDArray scores = groupedQuery.matMul(key.transpose(0, 1, 3, 2))
                .reshape(batch, kvHeads, groupSize, length, length)
                .add(mask);
        DataType dtype = scores.getDataType();
        NDArray probabilities = scores.toType(DataType.FLOAT32, false).softmax(-1).toType(dtype, false)
                .reshape(batch, kvHeads, groupSize * length, length);
        NDArray context = probabilities.matMul(value)
                .reshape(batch, heads, length, headDim)
                .transpose(0, 2, 1, 3)
                .reshape(batch, length, (long) heads * headDim);
        return o.forward(context);
    }
}
