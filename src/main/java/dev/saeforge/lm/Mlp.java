package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/** The SiLU-gated MLP: down_proj(SiLU(gate_proj(x)) * up_proj(x)), no biases. */
final class Mlp {
    private final Linear gateUp;
    private final Linear down;
    private final int width;

    /** gateUp: gate_proj and up_proj stacked along the output axis, [2 * intermediate, hidden]. */
    Mlp(Linear gateUp, Linear down) {
        this.gateUp = gateUp;
        this.down = down;
        this.width = (int) down.weight().getShape().get(1);
    }

    /** x: [B, T, hidden]; the tap sees mlp.hook_post, the input of down_proj. */
    NDArray forward(NDArray x, Tap tap) {
        NDArray projected = gateUp.forward(x);
        NDArray gate = projected.get("..., :{}", width);
        NDArray post = Activation.sigmoid(gate).muli(gate).muli(projected.get("..., {}:", width));
        return down.forward(tap.at(HookPoint.Site.MLP_POST, post));
    }
}
