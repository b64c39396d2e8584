package dev.saeforge.train;

import java.util.List;

/** The run's pace after {@code step} steps, and each SAE's metrics of that step (in the run's SAE order). */
public record Progress(long step, long tokens, long totalSteps, long totalTokens, double tokensPerSecond, double etaSeconds,
                       List<Metrics> saes) {
}
