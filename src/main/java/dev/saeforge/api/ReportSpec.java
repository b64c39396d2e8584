package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.fabric8.generator.annotation.Min;

import java.util.ArrayList;
import java.util.List;

/**
 * The feature report of the final checkpoint (saeforge report): which latents are carded and over
 * how many held-out tokens. SAELens has no counterpart; SAEDashboard and Neuronpedia draw such
 * pages for it. Report settings do not change what is trained.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"enabled", "tokens", "latents", "sample", "latentIndices"})
public class ReportSpec {
    public static final long DEFAULT_TOKENS = 262_144;
    public static final int DEFAULT_LATENTS = 20;
    public static final int DEFAULT_SAMPLE = 20;

    @JsonPropertyDescription("Whether the run writes a report of its final checkpoint: saeforge train writes it to a local"
            + " directory and prints its path; an operator's Job writes it beside the checkpoint in the store. Unset: saeforge"
            + " train writes one, a Job does not. A run on synthetic data has no tokens to show and writes none.")
    public Boolean enabled;

    @JsonPropertyDescription("Held-out tokens the report collects top-activating contexts and activation histograms over (from"
            + " spec.dataset.eval when set, else the run's data after its training range). Default 262144.")
    @Min(1)
    public long tokens = DEFAULT_TOKENS;

    @JsonPropertyDescription("How many of the most frequently firing latents of each SAE get a card. Default 20.")
    @Min(0)
    public int latents = DEFAULT_LATENTS;

    @JsonPropertyDescription("How many other latents of each SAE, drawn at random, get a card besides the most frequent ones."
            + " Default 20.")
    @Min(0)
    public int sample = DEFAULT_SAMPLE;

    @JsonPropertyDescription("Latents every SAE's report cards besides those (indices from 0, each below the SAE's dSae), e.g."
            + " [1234, 77]. Default none.")
    public List<Integer> latentIndices;

    /**
     * Whether the run writes its report: as {@link #enabled} says, else when it is not a cluster's
     * run ({@code inCluster}: an operator's Job, {@link RunIdentity#inCluster()}).
     */
    public boolean writesReport(boolean inCluster) {
        return enabled != null ? enabled : !inCluster;
    }

    /** The latents {@link #latentIndices} names, none when it is unset. */
    public List<Integer> latentIndicesOrNone() {
        return latentIndices == null ? List.of() : latentIndices;
    }

    /** Each of {@link #latentIndices} must be a latent (at least 0). */
    List<Problem> problems() {
        List<Problem> out = new ArrayList<>();
        List<Integer> indices = latentIndicesOrNone();
        for (int i = 0; i < indices.size(); i++) {
            if (indices.get(i) != null && indices.get(i) < 0) {
                out.add(new Problem("spec.report.latentIndices[" + i + "]", indices.get(i) + " is not a latent index; expected 0 or more"));
            }
        }
        return out;
    }

    /** Each of {@link #latentIndices} must be a latent of SAE {@code sae}, which has {@code dSae} latents. */
    public List<Problem> problems(String sae, int dSae) {
        List<Problem> out = new ArrayList<>();
        List<Integer> indices = latentIndicesOrNone();
        for (int i = 0; i < indices.size(); i++) {
            if (indices.get(i) != null && indices.get(i) >= dSae) {
                out.add(new Problem("spec.report.latentIndices[" + i + "]", indices.get(i) + " is not a latent of SAE " + sae
                        + ", which has dSae " + dSae + "; expected 0 to " + (dSae - 1)));
            }
        }
        return out;
    }
}
