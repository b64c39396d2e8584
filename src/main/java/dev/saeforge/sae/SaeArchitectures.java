package dev.saeforge.sae;

import dev.saeforge.api.SaeSpec;

/** The registry of SAE architectures, by spec.sae.architecture. */
public final class SaeArchitectures {
    private SaeArchitectures() {
    }

    public static SaeArchitecture of(SaeSpec.Architecture architecture) {
        return switch (architecture) {
            case JUMPRELU -> JumpReluSae.ARCHITECTURE;
            case TOPK -> TopKSae.ARCHITECTURE;
            case BATCHTOPK -> BatchTopKSae.ARCHITECTURE;
            case MATRYOSHKA_BATCHTOPK -> MatryoshkaBatchTopKSae.ARCHITECTURE;
            case STANDARD -> StandardSae.ARCHITECTURE;
        };
    }
}
