package dev.saeforge.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.saeforge.tensor.Torch;

import java.util.HashMap;
import java.util.Map;

/**
 * The 0/1 float masks of a training step ([batch, d_sae]: which latents fire, which sit in the
 * estimators' window), computed in place in arrays one SAE keeps from step to step on the CPU.
 * There a fresh array of that size costs more than the arithmetic that fills it: glibc serves it
 * with fresh pages (it is above the 32 MiB mmap threshold), every page faults on first touch, and
 * a comparison's boolean result then has to be converted into yet another float array. DJL has no
 * in-place comparison, so each mask is built from in-place arithmetic on a copy of h. On a GPU
 * the caching allocator already reuses memory, so the copies are fresh arrays freed with the step.
 * Not for concurrent use: one per SAE, whose steps run one at a time.
 */
final class MaskBuffers implements AutoCloseable {
    private final NDManager manager;
    private final Map<String, NDArray> kept = new HashMap<>();

    MaskBuffers(NDManager manager) {
        this.manager = manager;
    }

    /** h - θ (θ per latent) in the kept array {@code name}, to turn into masks. */
    NDArray minus(String name, NDArray pre, NDArray threshold) {
        return copy(name, pre).subi(threshold);
    }

    /**
     * 1[|u| < w] in the kept array {@code name}, {@code u} left as it is: the rectangle kernel
     * K(u / 2w). It takes ½ where |u| = w exactly (SAELens 0), a set of measure zero, which saves the
     * two passes a strict comparison costs here.
     */
    NDArray within(String name, NDArray u, double halfWidth) {
        NDArray window = copy(name, u);
        return window.muli(window).subi(halfWidth * halfWidth).signi().subi(1).muli(-0.5);   // (1 - sign(u² - w²)) / 2
    }

    /** 1[u > 0], strictly, in place: sign(u) ∈ {-1, 0, 1}; minus ½ and sign again gives 1 only for u > 0. */
    static NDArray positive(NDArray u) {
        return u.signi().subi(0.5).signi().addi(1).muli(0.5);
    }

    /** {@code source} copied into the kept array {@code name} (CPU), or a fresh copy (GPU). */
    NDArray copy(String name, NDArray source) {
        if (source.getDevice().isGpu()) {
            return source.duplicate();
        }
        NDArray buffer = kept.get(name);
        if (buffer == null || !buffer.getShape().equals(source.getShape()) || buffer.getDataType() != source.getDataType()) {
            if (buffer != null) {
                buffer.close();
            }
            buffer = manager.create(source.getShape(), source.getDataType());
            NDScope.unregister(buffer);   // kept past the step's scope; freed with the SAE
            kept.put(name, buffer);
        }
        Torch.assign(buffer, source);
        return buffer;
    }

    @Override
    public void close() {
        kept.values().forEach(NDArray::close);
        kept.clear();
    }
}
