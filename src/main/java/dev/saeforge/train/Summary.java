package dev.saeforge.train;

import dev.saeforge.store.CheckpointRef;
import dev.saeforge.store.CheckpointSae;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a run's summary reports, also written as JSON by {@code --summary}: the run's totals
 * and, per SAE, its final evaluation; {@code evaluationNote} says what the evaluation left out and
 * why (null when nothing), e.g. CE and KL of a run trained from an activation cache.
 */
public record Summary(String run, Outcome outcome, long steps, long tokens, double tokensPerSecond, double seconds,
                      String checkpoint, List<SaeSummary> saes, String evaluationNote) {

    public Summary(String run, Outcome outcome, long steps, long tokens, double tokensPerSecond, double seconds, String checkpoint,
                   List<SaeSummary> saes) {
        this(run, outcome, steps, tokens, tokensPerSecond, seconds, checkpoint, saes, null);
    }

    /** How the run ended in this process. */
    public enum Outcome {
        /** Every token trained; the final checkpoint is written. */
        COMPLETED,
        /** Stopped early on request, after a checkpoint a later run resumes from. */
        STOPPED
    }

    /**
     * One SAE at the end of the run: its held-out evaluation and dead latents (null when the run
     * stopped early) and where its checkpoint directory is.
     */
    public record SaeSummary(String name, String hook, Evaluation evaluation, Integer deadFeatures, String checkpoint) {
        Map<String, Object> toJson() {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("name", name);
            putIfPresent(out, "hook", hook);
            if (evaluation != null) {
                evaluation.toJson().forEach((key, value) -> {
                    if (!key.equals("evaluation_rows")) {
                        out.put(key, value);
                    }
                });
            }
            putIfPresent(out, "dead_features", deadFeatures);
            out.put("checkpoint", checkpoint);
            return out;
        }
    }

    /** A run completed earlier: the final checkpoint's record of each SAE (its manifest info, see {@link Checkpointer}). */
    static Summary alreadyComplete(String run, CheckpointRef checkpoint) {
        Map<String, Object> info = checkpoint.info();
        List<SaeSummary> saes = CheckpointSae.of(checkpoint).stream().map(sae -> new SaeSummary(sae.name(), sae.hook(),
                Evaluation.fromJson(sae.info().get("evaluation") instanceof Map<?, ?> e ? cast(e) : Map.of()),
                intOrNull(sae.info().get("dead_features")), sae.uri())).toList();
        return new Summary(run, Outcome.COMPLETED, number(info.get("step")).longValue(), checkpoint.tokens().orElse(0), 0, 0,
                checkpoint.uri(), saes);
    }

    /** The one SAE of a single-SAE run; null for several. */
    private SaeSummary only() {
        return saes.size() == 1 ? saes.get(0) : null;
    }

    /** The evaluation of a single-SAE run's SAE; null for several SAEs or a stopped run. */
    public Evaluation evaluation() {
        return only() == null ? null : only().evaluation();
    }

    public Double explainedVariance() {
        return evaluation() == null ? null : evaluation().explainedVariance();
    }

    public Double l0() {
        return evaluation() == null ? null : evaluation().l0();
    }

    public Integer deadFeatures() {
        return only() == null ? null : only().deadFeatures();
    }

    public Integer groundTruthRecovered() {
        return evaluation() == null ? null : evaluation().groundTruthRecovered();
    }

    public Integer groundTruthFeatures() {
        return evaluation() == null ? null : evaluation().groundTruthFeatures();
    }

    /**
     * The summary as the JSON object pipelines read: snake_case keys, absent values left out, an
     * entry per SAE under "saes"; a single-SAE run also has its SAE's figures at the top level.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("run", run);
        out.put("outcome", outcome.name().toLowerCase());
        out.put("steps", steps);
        out.put("tokens", tokens);
        out.put("tokens_per_second", tokensPerSecond);
        out.put("seconds", seconds);
        SaeSummary only = only();
        if (only != null) {
            Map<String, Object> sae = only.toJson();
            sae.remove("name");
            sae.remove("hook");
            sae.remove("checkpoint");
            out.putAll(sae);
        }
        putIfPresent(out, "evaluation_note", evaluationNote);
        out.put("checkpoint", checkpoint);
        out.put("saes", saes.stream().map(SaeSummary::toJson).toList());
        return out;
    }

    private static void putIfPresent(Map<String, Object> out, String key, Object value) {
        if (value != null) {
            out.put(key, value);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    private static Number number(Object o) {
        return o instanceof Number n ? n : 0;
    }

    private static Integer intOrNull(Object o) {
        return o instanceof Number n ? n.intValue() : null;
    }
}
