package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/** The SiLU-gated MLP: down_proj(SiLU(gate_proj(x)) * up_proj(x)), no biases. */
final class Mlp {
    private final Linear gate;
    private final Linear up;
    private final Linear down;

    Mlp(Linear gate, Linear up, Linear down) {
        this.gate = gate;
        this.up = up;
        this.down = down;
    }

    /** x: [B, T, hidden]; the tap sees mlp.hook_post, the input of down_proj. */
    NDArray forward(NDArray x, Tap tap) {
        NDArray gated = gate.forward(x);
        NDArray post = gated.mul(Activation.sigmoid(gated)).mul(up.forward(x));
        return down.forward(tap.at(HookPoint.Site.MLP_POST, post));
    }
}
