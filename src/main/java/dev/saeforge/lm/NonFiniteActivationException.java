package dev.saeforge.lm;

import dev.saeforge.tensor.Precision;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A forward pass produced infinities or NaNs. One non-finite batch would poison an SAE's weights,
 * so the pass fails, naming the first layer whose output was not finite, the hooks it ran to and
 * the precision. float16 is the usual cause: Qwen models' activations outgrow its range
 * (QwenLM/Qwen3#868), which bfloat16 and float32 share with each other.
 */
public final class NonFiniteActivationException extends IllegalStateException {
    private final int layer;

    public NonFiniteActivationException(int layer, List<HookPoint> hooks, Precision precision) {
        super("the " + precision + " forward pass produced non-finite values (inf or NaN) in layer " + layer + " (blocks." + layer
                + ") on its way to " + hooks.stream().map(HookPoint::toString).collect(Collectors.joining(", "))
                + (precision == Precision.FLOAT16
                ? "; float16 overflows on Qwen3's large activations: compute in bfloat16 or float32 instead (spec.model.dtype, or --dtype)"
                : "; " + precision + " has float32's range, so the checkpoint's weights or the tokens are the likely cause"));
        this.layer = layer;
    }

    /** The first layer whose output was not finite. */
    public int layer() {
        return layer;
    }
}
