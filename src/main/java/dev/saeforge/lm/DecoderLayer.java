package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;

/**
 * One pre-norm Qwen3 decoder layer, with its TransformerLens hook sites in the order the
 * forward pass reaches them (reference/saelens-qwen3.md §7.3).
 */
final class DecoderLayer {
    private final RmsNorm inputNorm;
    private final Attention attention;
    private final RmsNorm postAttentionNorm;
    private final Mlp mlp;

    DecoderLayer(RmsNorm inputNorm, Attention attention, RmsNorm postAttentionNorm, Mlp mlp) {
        this.inputNorm = inputNorm;
        this.attention = attention;
        this.postAttentionNorm = postAttentionNorm;
        this.mlp = mlp;
    }

    /** residPre: [B, T, hidden]. Returns early once the tap has what it waited for. */
    NDArray forward(NDArray residPre, Rope.Tables rope, NDArray mask, Tap tap) {
        NDArray resid = tap.at(HookPoint.Site.RESID_PRE, residPre);
        if (tap.done()) {
            return resid;
        }
        NDArray attnOut = tap.at(HookPoint.Site.ATTN_OUT, attention.forward(inputNorm.forward(resid), rope, mask));
        resid = tap.at(HookPoint.Site.RESID_MID, resid.add(attnOut));
        if (tap.done()) {
            return resid;
        }
        NDArray mlpOut = tap.at(HookPoint.Site.MLP_OUT, mlp.forward(postAttentionNorm.forward(resid), tap));
        return tap.at(HookPoint.Site.RESID_POST, resid.add(mlpOut));
    }
}
