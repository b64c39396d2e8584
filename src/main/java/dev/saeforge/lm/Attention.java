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
    private final Linear qkv;
    private final Linear o;
    private final RmsNorm qkNorm;
    private final int heads;
    private final int kvHeads;
    private final int headDim;

    /**
     * qkv: q_proj, k_proj and v_proj stacked along the output axis, [(heads + 2 kv heads) * hd,
     * hidden], so one matrix product computes all three. qkNorm: q_norm's weight for each query
     * head then k_norm's for each kv head, [heads + kv heads, hd], so one norm serves both; the
     * query rows carry the 1/sqrt(hd) score scale (on q rather than on the [T, T] scores, as SDPA
     * does).
     */
    Attention(Linear qkv, Linear o, RmsNorm qkNorm, Qwen3Config config) {
        this.qkv = qkv;
        this.o = o;
        this.qkNorm = qkNorm;
        this.heads = config.numHeads();
        this.kvHeads = config.numKvHeads();
        this.headDim = config.headDim();
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
        int qkWidth = (heads + kvHeads) * headDim;
        NDArray projected = qkv.forward(x);
        // q and k heads side by side, [B, T, heads + kv heads, hd]: normed over hd, rotated.
        NDArray qk = Rope.apply(qkNorm.forward(projected.get("..., :{}", qkWidth).reshape(batch, length, heads + kvHeads, headDim)), rope);
        NDArray query = qk.get(":, :, :{}", heads).transpose(0, 2, 1, 3);
        NDArray key = qk.get(":, :, {}:", heads).transpose(0, 2, 1, 3);
        NDArray value = projected.get("..., {}:", qkWidth).reshape(batch, length, kvHeads, headDim).transpose(0, 2, 1, 3);
        // GQA: kv head j serves query heads j*g .. j*g+g-1 (transformers' repeat_kv). Stacking a
        // group's g query heads along the row axis lets each kv head serve them in one matmul
        // without copying k and v g times.
        NDArray groupedQuery = query.reshape(batch, kvHeads, groupSize * length, headDim);
        NDArray scores = groupedQuery.matMul(key.transpose(0, 1, 3, 2))
                .reshape(batch, kvHeads, groupSize, length, length)
                .addi(mask);
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
