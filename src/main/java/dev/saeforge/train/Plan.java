package dev.saeforge.train;

import java.util.List;
import java.util.Optional;

/** The shape of a run, known before its first step: the stream, and each SAE it feeds. */
public record Plan(String run, String source, String device, long totalSteps, long totalTokens, int batchSize,
                   Optional<String> resumedFrom, long startStep, List<SaePlan> saes) {

    /** One SAE of the run. */
    public record SaePlan(String name, String hook, int dIn, int dSae) {
    }
}
