package dev.saeforge.train;

import java.util.List;

/** Tokens per second since this process started training, and the time left at that pace. */
final class Pace {
    private final long startNanos = System.nanoTime();
    private final long startTokens;
    private double tokensPerSecond;

    Pace(long startTokens) {
        this.startTokens = startTokens;
    }

    Progress progress(long step, long tokens, long totalSteps, long totalTokens, List<Metrics> saes) {
        double seconds = seconds();
        tokensPerSecond = seconds > 0 ? (tokens - startTokens) / seconds : 0;
        double eta = tokensPerSecond > 0 ? Math.max(0, totalTokens - tokens) / tokensPerSecond : Double.NaN;
        return new Progress(step, tokens, totalSteps, totalTokens, tokensPerSecond, eta, saes);
    }

    double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    double tokensPerSecond() {
        return tokensPerSecond;
    }
}
