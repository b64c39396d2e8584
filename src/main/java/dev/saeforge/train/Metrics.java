package dev.saeforge.train;

/** The numbers SAELens logs every few steps (losses/*, metrics/*, sparsity/*, details/*). */
public record Metrics(
        /** The SAE these metrics are of (its name in the run). */
        String sae,
        String hook,
        long step,
        long tokens,
        double overallLoss,
        double mseLoss,
        double sparsityLoss,
        double auxiliaryLoss,
        double explainedVariance,
        double l0,
        int deadFeatures,
        double learningRate,
        double sparsityCoefficient,
        /** Wall time of the SAE step these metrics describe (forward, backward, clip, Adam). */
        double stepSeconds) {
}
