package dev.saeforge.report;

import dev.saeforge.api.ReportSpec;

import java.util.List;

/**
 * What a report collects: {@code tokens} held-out tokens; cards for the {@code frequent} most
 * frequent latents, a sample of {@code sample} others that fired (drawn with {@code seed}) and
 * every latent in {@code requested}; {@code contexts} top contexts per latent; of the SAE named
 * {@code sae} alone, or (null) of every SAE of the checkpoint.
 */
public record ReportOptions(long tokens, int frequent, int sample, List<Integer> requested, long seed, int contexts, String sae) {
    public static final int DEFAULT_CONTEXTS = 10;

    public ReportOptions {
        requested = List.copyOf(requested);
        if (tokens < 1) {
            throw new IllegalArgumentException("--tokens is " + tokens + "; expected at least 1 held-out token");
        }
        if (frequent < 0 || sample < 0) {
            throw new IllegalArgumentException((frequent < 0 ? "--latents is " + frequent : "--sample is " + sample)
                    + "; expected 0 or more latent cards");
        }
        if (contexts < 1) {
            throw new IllegalArgumentException("contexts per latent is " + contexts + "; expected at least 1");
        }
        for (int latent : requested) {
            if (latent < 0) {
                throw new IllegalArgumentException("--latent " + latent + " is not a latent index; expected 0 or more");
            }
        }
    }

    /** What a training run's own report collects, as its spec.report says (the defaults, when the spec leaves it). */
    public static ReportOptions of(ReportSpec spec) {
        return new ReportOptions(spec.tokens, spec.latents, spec.sample, spec.latentIndicesOrNone(), 0, DEFAULT_CONTEXTS, null);
    }

    /** The defaults, spec.report's. */
    public static ReportOptions defaults() {
        return of(new ReportSpec());
    }

    /** These options for the SAE named {@code name} alone. */
    public ReportOptions only(String name) {
        return new ReportOptions(tokens, frequent, sample, requested, seed, contexts, name);
    }
}
