package dev.saeforge.lm;

import ai.djl.ndarray.NDArray;

/** A bias-free projection stored as PyTorch does, [out, in]: y = x W^T (torch.nn.functional.linear). */
record Linear(NDArray weight) {
    NDArray forward(NDArray x) {
        return ai.djl.nn.core.Linear.linear(x, weight).singletonOrThrow();
    }
}
