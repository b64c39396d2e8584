package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.function.UnaryOperator;

/**
 * What the forward pass does at one hook site of one layer: record the activation (and stop),
 * or replace it. Both see the activation as float32 [tokens, width], the layout SAEs train on.
 */
final class Tap {
    static final Tap NONE = new Tap(null, null);

    private final HookPoint.Site site;
    private final UnaryOperator<NDArray> replacement;
    private NDArray recorded;

    private Tap(HookPoint.Site site, UnaryOperator<NDArray> replacement) {
        this.site = site;
        this.replacement = replacement;
    }

    static Tap record(HookPoint.Site site) {
        return new Tap(site, null);
    }

    static Tap replace(HookPoint.Site site, UnaryOperator<NDArray> replacement) {
        return new Tap(site, replacement);
    }

    /** value: [B, T, width] in the compute dtype; returns what the forward continues with. */
    NDArray at(HookPoint.Site here, NDArray value) {
        if (here != site) {
            return value;
        }
        Shape shape = value.getShape();
        NDArray flat = value.reshape(shape.get(0) * shape.get(1), shape.get(2)).toType(DataType.FLOAT32, false);
        if (replacement == null) {
            recorded = flat;
            return value;
        }
        NDArray replaced = replacement.apply(flat);
        if (!replaced.getShape().equals(flat.getShape())) {
            throw new IllegalStateException("the replacement at " + site.suffix + " returned shape " + replaced.getShape()
                    + "; expected " + flat.getShape() + " [tokens, width]");
        }
        return replaced.reshape(shape).toType(value.getDataType(), false);
    }

    /** True once the recorded activation is in: the rest of the forward pass is not needed. */
    boolean done() {
        return recorded != null;
    }

    NDArray recorded() {
        return recorded;
    }
}
